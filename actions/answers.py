"""Yes and no outside a form: their meaning depends on the question the bot asked last.

One action for every such question keeps the rules simple ("affirm → this action") and
keeps the questions and their follow-ups next to each other here.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import last_bot_turn, previous_bot_actions
from actions.no_progress import OFFER_RESPONSE, STUCK_SLOT, should_offer_human
from actions.services import answer_named_service

# Last question asked (its response name) → what yes and what no lead to.
_YES_NO: dict[str, tuple[str, str]] = {
    "utter_auth_registry_unavailable": ("utter_handoff_registry_down", "utter_registry_down_later"),
    "utter_status_registry_unavailable": ("utter_handoff_registry_down", "utter_anything_else"),
    "utter_fallback_offer_human": ("utter_handoff_not_understood", "utter_anything_else"),
    OFFER_RESPONSE: ("utter_handoff_no_progress", "utter_continue_task"),
    "utter_ask_reminder_consent": ("utter_reminders_on", "utter_reminders_declined"),
    "utter_ask_forget_me": ("action_forget_me", "utter_forget_me_kept"),
}
_DEFAULT = ("utter_affirm_no_question", "utter_deny_no_question")
# The actions that end their answer by offering to read more.
SERVICE_ACTIONS = {"action_service_lookup", "action_service_more"}


class ActionAnswerYesNo(Action):
    def name(self) -> str:
        return "action_answer_yes_no"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        yes = (tracker.latest_message.get("intent") or {}).get("name") == "affirm"
        # An offer counts only as the bot's last word; a stale one would read old steps.
        if tracker.get_slot("service_offer") and SERVICE_ACTIONS & set(
            previous_bot_actions(tracker)
        ):
            if yes:
                return [FollowupAction("action_service_more")]
            dispatcher.utter_message(response="utter_anything_else")
            return [SlotSet("service_offer", None)]
        if tracker.active_loop.get("name"):
            # A yes or no the form could not use: its question follows again.
            dispatcher.utter_message(response="utter_fallback_in_form")
            return []
        turn = last_bot_turn(tracker)
        asked = turn[-1].utter_action if turn else None
        if asked == OFFER_RESPONSE and not yes:
            return self._continue_paused_form(dispatcher, tracker)
        if asked not in _YES_NO:  # no question was asked
            if found := answer_named_service(tracker):
                return found  # "那个合作医疗在哪儿办呀" misread as a no
            if should_offer_human(tracker):
                dispatcher.utter_message(response="utter_fallback_offer_human")
                return []
        on_yes, on_no = _YES_NO.get(asked or "", _DEFAULT)
        follow = on_yes if yes else on_no
        if follow.startswith("action_"):
            return [FollowupAction(follow)]
        dispatcher.utter_message(response=follow)
        return []

    @staticmethod
    def _continue_paused_form(
        dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """No person wanted: the paused form goes on, asking its question once more."""
        dispatcher.utter_message(response="utter_continue_task")
        stuck_on = str(tracker.get_slot(STUCK_SLOT) or "")
        form = stuck_on.partition(".")[0]
        events: list[EventType] = [SlotSet(STUCK_SLOT, None)]
        return [*events, FollowupAction(form)] if form else events


class ActionForgetMe(Action):
    """删除我的记录, confirmed: the conversation is deleted where it is kept.

    The reply's ``custom.forget_me`` tells the gateway (its transcripts); the ``forget_me``
    slot tells our tracker store (engine_ext), which deletes Rasa's events when it sees it.
    """

    def name(self) -> str:
        return "action_forget_me"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_forgotten")
        return [SlotSet("forget_me", True)]
