"""Accessibility commands that work in every state: repeat, slower, cancel, not understood."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import (
    BotMessage,
    previous_turn_was_fallback,
    response_text,
    turn_to_repeat,
)
from actions.no_progress import should_offer_human
from actions.privacy import IDENTITY_SLOTS, forget_helper, forget_identity
from actions.services import answer_named_service
from nlu.noise import is_noise

# Speech-rate factors, from normal down to the slowest that stays intelligible.
SPEECH_RATES: tuple[float, ...] = (1.0, 0.8, 0.65, 0.5)

# Intents a confused user is offered as buttons, with the words shown on them.
SUGGESTION_TITLES: dict[str, str] = {
    "social_security_auth": "养老金资格认证",
    "check_auth_status": "查认证结果",
    "service_lookup": "办事指南",
    "find_service_center": "找服务中心",
    "request_human": "转人工",
    "help": "我能做什么",
}
DEFAULT_SUGGESTIONS: tuple[str, ...] = ("social_security_auth", "service_lookup", "request_human")
MAX_SUGGESTIONS = 3


def _say_again(dispatcher: CollectingDispatcher, messages: list[BotMessage]) -> None:
    for message in messages:
        dispatcher.utter_message(
            text=message.text,
            buttons=message.buttons or None,
            json_message={"expect": message.expect} if message.expect else None,
        )


def slower_rate(current: float | None) -> float:
    """One step slower than ``current``; stays at the slowest step."""
    rate = 1.0 if current is None else float(current)
    for step in SPEECH_RATES:
        if step < rate - 1e-9:
            return step
    return SPEECH_RATES[-1]


class ActionRepeat(Action):
    """Says the bot's previous turn again, word for word (再说一遍)."""

    def name(self) -> str:
        return "action_repeat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        _say_again(dispatcher, turn_to_repeat(tracker))
        return []


class ActionSpeakSlower(Action):
    """Lowers ``speech_rate`` one step, confirms, and says the previous turn again slower."""

    def name(self) -> str:
        return "action_speak_slower"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        rate = slower_rate(tracker.get_slot("speech_rate"))
        dispatcher.utter_message(response="utter_slower")
        again = [m for m in turn_to_repeat(tracker) if m.utter_action != "utter_slower"]
        _say_again(dispatcher, again)
        # Voice channels read the new rate from the reply (the slot stays inside Rasa).
        dispatcher.utter_message(json_message={"speech_rate": rate})
        return [SlotSet("speech_rate", rate)]


class ActionCancel(Action):
    """Leaves the current task (取消); its answers so far are forgotten."""

    def name(self) -> str:
        return "action_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        form = tracker.active_loop.get("name") if tracker.active_loop else None
        if not form:
            return await ActionNothingToCancel().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_cancelled")
        form_slots = domain.get("forms", {}).get(form, {}).get("required_slots", [])
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *(SlotSet(slot, None) for slot in form_slots if slot not in IDENTITY_SLOTS),
            *forget_identity(),
            *forget_helper(tracker.get_slot("helping") is True),
        ]


class ActionNothingToCancel(Action):
    """取消 outside a task (its own action: rules may not mix it with the form's cancel)."""

    def name(self) -> str:
        return "action_nothing_to_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # "那个合作医疗在哪儿办呀" misread as cancel is a question about a service.
        if found := answer_named_service(tracker):
            return found
        if should_offer_human(tracker):
            dispatcher.utter_message(response="utter_fallback_offer_human")
        else:
            dispatcher.utter_message(response="utter_nothing_to_cancel")
        return []


def suggestions(latest_message: dict[str, Any]) -> list[str]:
    """Up to three intents the user may have meant, best first."""
    ranked = [
        item.get("name")
        for item in latest_message.get("intent_ranking") or []
        if item.get("name") in SUGGESTION_TITLES
    ]
    picked: list[str] = []
    for intent in [*ranked, *DEFAULT_SUGGESTIONS]:
        if intent not in picked:
            picked.append(intent)
    return picked[:MAX_SUGGESTIONS]


class ActionHandleFallback(Action):
    """Not understood: ask to rephrase with suggestions; the second miss in a row offers a human."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not tracker.active_loop.get("name") and (found := answer_named_service(tracker)):
            return found
        if previous_turn_was_fallback(tracker) or should_offer_human(tracker):
            dispatcher.utter_message(response="utter_fallback_offer_human")
        elif is_noise(tracker.latest_message.get("text") or ""):
            # Filler or babble: nothing to suggest, just ask again (a form re-asks itself).
            if not tracker.active_loop.get("name"):
                dispatcher.utter_message(response="utter_noise")
            else:
                dispatcher.utter_message(response="utter_fallback_in_form")
        elif tracker.active_loop.get("name"):
            # The form asks its own question right after; keep the turn short.
            dispatcher.utter_message(response="utter_fallback_in_form")
        else:
            buttons = [
                {"title": SUGGESTION_TITLES[intent], "payload": f"/{intent}"}
                for intent in suggestions(tracker.latest_message)
            ]
            dispatcher.utter_message(
                text=response_text(domain, "utter_ask_rephrase"), buttons=buttons
            )
        return []


class ActionAskWhatTask(Action):
    """Information with no task to put it in: ask what to do, or, the third time, offer a human."""

    def name(self) -> str:
        return "action_ask_what_task"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.active_loop.get("name"):
            # Inside a form the answer did not fit the question, which follows again.
            dispatcher.utter_message(response="utter_fallback_in_form")
        elif found := answer_named_service(tracker):
            return found
        elif should_offer_human(tracker):
            dispatcher.utter_message(response="utter_fallback_offer_human")
        else:
            dispatcher.utter_message(response="utter_ask_what_task")
        return []


class ActionOutOfScope(Action):
    """Out of scope, unless the words name a service after all (离婚证 → 婚姻登记)."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if found := answer_named_service(tracker):
            return found
        dispatcher.utter_message(response="utter_out_of_scope")
        return []
