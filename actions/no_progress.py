"""No state may loop: the third ask without progress offers a human instead.

A resident whose answer the bot cannot use hears the same question again; a third time
helps no one. Two places see every such turn, and both use this module:
- every form's validation action (`GuardedFormValidation`, the base class of all form
  validators) — it knows, after validating an answer, which slot the form would ask next
  and how often that slot has already been answered in vain since the form started;
- the actions that answer what was not understood outside a form (`misunderstood_streak`).

The offer pauses the form (slots kept, like any handoff) and asks "要不要转人工？". Yes hands
over with the reason for the agent (`no_progress` and which question, or
`not_understood`); no continues the paused form (`actions.answers`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

# The third ask of a slot is replaced by the offer: two answers in vain are enough.
MAX_VAIN_ANSWERS = 2
# Turns in a row not understood (outside forms) before the offer.
MAX_MISUNDERSTOOD_TURNS = 3
# Not answers to the question: the form asks again on purpose, or leaves.
NOT_ANSWERS = frozenset(
    {"repeat", "speak_slower", "help", "cancel", "request_human", "emergency", "complaint"}
)
OFFER_RESPONSE = "utter_offer_human_no_progress"
# Slot naming the form and question the resident was stuck on: the handoff's detail.
STUCK_SLOT = "stuck_on"
# Bot responses that say "I did not understand" outside a form.
MISUNDERSTOOD_RESPONSES = frozenset(
    {
        "utter_ask_what_task",
        "utter_affirm_no_question",
        "utter_deny_no_question",
        "utter_nothing_to_cancel",
        "utter_ask_rephrase",
        "utter_fallback_in_form",
        "utter_fallback_offer_human",
    }
)
MISUNDERSTOOD_ACTIONS = frozenset({"action_handle_fallback"})


def _intent(parse: dict[str, Any]) -> str | None:
    """The intent name of a parse (a user event's ``parse_data``, a latest message)."""
    return (parse.get("intent") or {}).get("name")


def answers_since_activation(events: Sequence[dict[str, Any]], form: str) -> dict[str, int]:
    """How many user turns answered each requested slot since ``form`` last started."""
    start = 0
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") == form:
            start = index
            break
    asked: str | None = None
    counts: dict[str, int] = {}
    for event in events[start:]:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == "requested_slot":
            asked = event.get("value")
        elif kind == "user" and asked and _intent(event.get("parse_data") or {}) not in NOT_ANSWERS:
            counts[asked] = counts.get(asked, 0) + 1
    return counts


def offer_human(dispatcher: CollectingDispatcher, stuck_on: str) -> list[EventType]:
    """Say the offer and wait for the answer; a paused form keeps its slots."""
    dispatcher.utter_message(response=OFFER_RESPONSE)
    return [SlotSet(STUCK_SLOT, stuck_on), FollowupAction("action_listen")]


class GuardedFormValidation(FormValidationAction):
    """Form validation that offers a human instead of asking a slot a third time in vain."""

    @abstractmethod
    def name(self) -> str:
        """Abstract, so the action server does not register this base class as an action."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if not tracker.active_loop.get("name"):
            return events  # the form is starting (or resuming): nothing was asked yet
        if _intent(tracker.latest_message) in NOT_ANSWERS:
            return events
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        next_slot = next((slot for slot in required if tracker.slots.get(slot) is None), None)
        if next_slot is None:
            return events
        answered = answers_since_activation(tracker.events, self.form_name())
        if answered.get(next_slot, 0) < MAX_VAIN_ANSWERS:
            return events
        return [
            *events,
            *offer_human(dispatcher, f"{self.form_name()}.{next_slot}"),
            SlotSet("requested_slot", None),
            ActiveLoop(None),
        ]


def _turns(events: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The bot's events of each turn, newest last; the current (unanswered) turn excluded."""
    turns: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] | None = None
    for event in events:
        if event.get("event") == "user":
            if current is not None:
                turns.append(current)
            current = []
        elif current is not None:
            current.append(event)
    return turns


def _misunderstood(turn: list[dict[str, Any]]) -> bool:
    for event in turn:
        if event.get("event") == "action" and event.get("name") in MISUNDERSTOOD_ACTIONS:
            return True
        utter = (event.get("metadata") or {}).get("utter_action")
        if event.get("event") == "bot" and utter in MISUNDERSTOOD_RESPONSES:
            return True
    return False


def misunderstood_streak(tracker: Tracker) -> int:
    """How many turns in a row, just before the current one, were not understood."""
    streak = 0
    for turn in reversed(_turns(tracker.events)):
        if not _misunderstood(turn):
            break
        streak += 1
    return streak


def should_offer_human(tracker: Tracker) -> bool:
    """Whether this turn, not understood either, is one too many."""
    return misunderstood_streak(tracker) + 1 >= MAX_MISUNDERSTOOD_TURNS
