"""Reading the conversation so far: what the bot last said, what the user last meant.

Shared by the command actions (repeat, slower, fallback) so that each reads the
tracker the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.types import DomainDict

from actions.expect import expect_of

FALLBACK_ACTION = "action_handle_fallback"


@dataclass(frozen=True)
class BotMessage:
    """One message the bot sent, as the user saw or heard it."""

    text: str | None
    buttons: list[dict[str, Any]] = field(default_factory=list)
    utter_action: str | None = None
    # What the question expects as an answer, kept so that saying it again keeps it.
    expect: dict[str, Any] | None = None


def _bot_message(event: dict[str, Any]) -> BotMessage:
    data = event.get("data") or {}
    metadata = event.get("metadata") or {}
    return BotMessage(
        text=event.get("text"),
        buttons=list(data.get("buttons") or []),
        utter_action=metadata.get("utter_action"),
        expect=expect_of(data.get("custom")),
    )


def _index_of_latest_user_event(events: list[dict[str, Any]]) -> int | None:
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            return index
    return None


def last_bot_turn(tracker: Tracker) -> list[BotMessage]:
    """The bot's messages between the user's previous message and the current one.

    This is what "再说一遍" must say again: the whole previous turn, not just its last line.
    """
    events = tracker.events
    current = _index_of_latest_user_event(events)
    if current is None:
        current = len(events)
    turn: list[BotMessage] = []
    for event in reversed(events[:current]):
        kind = event.get("event")
        if kind == "user":
            break
        if kind == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            turn.append(_bot_message(event))
    turn.reverse()
    return turn


def form_question(tracker: Tracker) -> str | None:
    """Name of the response the active form uses to ask for its requested slot."""
    form = tracker.active_loop.get("name") if tracker.active_loop else None
    slot = tracker.get_slot("requested_slot")
    if not form or not slot:
        return None
    return f"utter_ask_{form}_{slot}"


def turn_to_repeat(tracker: Tracker) -> list[BotMessage]:
    """The last turn, minus the form's question when a form will ask it again itself."""
    turn = last_bot_turn(tracker)
    question = form_question(tracker)
    if (
        question
        and turn
        and turn[-1].utter_action in {question, f"utter_ask_{tracker.get_slot('requested_slot')}"}
    ):
        return turn[:-1]
    return turn


def previous_bot_actions(tracker: Tracker) -> list[str]:
    """Actions the bot ran between the user's previous message and the current one."""
    events = tracker.events
    current = _index_of_latest_user_event(events)
    if current is None:
        return []
    names: list[str] = []
    for event in reversed(events[:current]):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name") != "action_listen":
            names.append(str(event.get("name")))
    names.reverse()
    return names


def previous_turn_was_fallback(tracker: Tracker) -> bool:
    """Whether the bot already failed to understand the user's previous message."""
    return FALLBACK_ACTION in previous_bot_actions(tracker)


def response_text(domain: DomainDict, response: str) -> str:
    """The first text variant of a domain response, for actions that add their own buttons."""
    variants = domain.get("responses", {}).get(response) or []
    for variant in variants:
        if variant.get("text"):
            return str(variant["text"])
    raise KeyError(f"domain has no text for response {response!r}")
