"""Rasa's ``Event.resolve_by_type`` answered from a table instead of a class-tree walk.

Rasa 3.6 finds an event's class by walking every subclass of ``Event`` (recursively, each
checked with ``inspect.isabstract``) for every event it reads: a tracker of 300 events
rebuilt at each turn walked the tree 300 times, about 0.14 ms per event, the largest
single cost of reading a conversation back (more than decrypting it). The answer only
changes when a new ``Event`` subclass is defined, so it is kept per type name and the
table is emptied whenever a subclass is created (``__init_subclass__`` runs for every
class defined below ``Event``, at any depth). The same classes come back in the same
order of preference, so every tracker is rebuilt exactly as before.
"""

from __future__ import annotations

from typing import Any

_INSTALLED = "_engine_ext_resolve_by_type"


def install() -> None:
    """Replace ``Event.resolve_by_type`` with the memoized one (idempotent)."""
    from rasa.shared.core.events import Event

    if getattr(Event, _INSTALLED, False):
        return
    original = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> Any:
        found = known.get(type_name)
        if found is not None:
            return found
        result = original(type_name, default)
        # Only a class the walk found is remembered: the default (or None for "topic")
        # is the caller's, and an unknown name raises as before.
        if result is not None and result is not default:
            known[type_name] = result
        return result

    previous_hook = Event.__dict__.get("__init_subclass__")

    def __init_subclass__(cls: type, **kwargs: Any) -> None:
        known.clear()
        if previous_hook is not None:
            previous_hook.__func__(cls, **kwargs)
        else:
            super(Event, cls).__init_subclass__(**kwargs)

    Event.__init_subclass__ = classmethod(__init_subclass__)  # type: ignore[assignment]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]
    setattr(Event, _INSTALLED, True)
