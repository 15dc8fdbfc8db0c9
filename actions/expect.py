"""What the bot expects the person to answer next, as a custom payload voice channels read.

``{"expect": {"kind": "yes_no" | "digits" | "choice", "options": [...]}}`` travels with the
question (Rasa's REST channel sends it as an element of its own). The kiosk listens for
the next utterance with a matching speech-recognition grammar (``voice/expectations.py``);
text channels ignore it. Questions in domain.yml carry it in their ``custom`` block; the
actions that ask questions themselves use these helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

KINDS = ("yes_no", "digits", "choice")


def yes_no() -> dict[str, Any]:
    return {"expect": {"kind": "yes_no"}}


def choice(options: Sequence[str]) -> dict[str, Any]:
    return {"expect": {"kind": "choice", "options": list(options)}}


def expect_of(custom: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``expect`` part of a custom payload (to say a question again with it)."""
    value = (custom or {}).get("expect")
    return dict(value) if isinstance(value, Mapping) else None
