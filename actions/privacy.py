"""Personal numbers must not outlive the task that needed them."""

from __future__ import annotations

from rasa_sdk.events import EventType, SlotSet

# The full ID number and everything derived from it (how the name matched under it too).
IDENTITY_SLOTS: tuple[str, ...] = (
    "id_number",
    "id_readback",
    "id_confirmed",
    "name_match",
    "name_confirmed",
)


def forget_identity() -> list[EventType]:
    """Events that clear the ID number from the conversation's slots."""
    return [SlotSet(slot, None) for slot in IDENTITY_SLOTS]


# Who is being helped, by whom (帮他人认证): ends with the task, like the ID number.
HELPER_SLOTS: tuple[str, ...] = ("helping", "helper_relation", "elder_consent", "assist_refused")


def forget_helper(helping: bool = False) -> list[EventType]:
    """Events that end helper mode, so the next task is the speaker's own.

    After helping, the elder's name goes too: it must not become the helper's own. Not
    helping, there is nothing to end (the slots are only ever set in helper mode).
    """
    if not helping:
        return []
    return [*(SlotSet(slot, None) for slot in HELPER_SLOTS), SlotSet("person_name", None)]
