"""engine_ext.event_types: Rasa's event classes found from a table, with the same answers."""

from __future__ import annotations

import pytest
import rasa.shared.utils.common
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

from engine_ext.event_types import install


def walk(type_name: str) -> type[Event] | None:
    """Rasa's own lookup: the first non-abstract subclass with that type name."""
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        if cls.type_name == type_name:
            return cls
    return None


def test_every_event_type_resolves_to_the_class_rasa_finds() -> None:
    install()
    install()  # idempotent: Rasa's server and a test may both install it
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert {"user", "action", "slot", "session_started", "bot"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is walk(name)
        assert Event.resolve_by_type(name) is walk(name)  # from the table now


def test_unknown_names_are_answered_as_before() -> None:
    install()
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no such event", default=UserUttered) is UserUttered
    assert Event.resolve_by_type("no such event", default=ActionExecuted) is ActionExecuted
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no such event")
    event = Event.from_parameters({"event": "slot", "name": "id_number", "value": "1"})
    assert isinstance(event, SlotSet) and event.key == "id_number"


def test_a_subclass_defined_later_is_found() -> None:
    install()
    assert Event.resolve_by_type("test_later", default=UserUttered) is UserUttered

    class Later(ActionExecuted):  # a grandchild of Event: the hook runs at every depth
        type_name = "test_later"

    assert Event.resolve_by_type("test_later") is Later
