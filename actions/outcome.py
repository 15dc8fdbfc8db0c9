"""What the gateway learns from a turn besides the words: a task done, who was identified.

The dialogue knows when a resident's task really ended (the 问题解决率 the gateway counts,
the moment a rating may be asked) and who the registry identified (so reminders and the
result of a complaint can find the resident again on a shared kiosk). It says so in the
``custom`` part of a reply, which the gateway reads through ``bot.reply_custom``:

- ``task_done``: ``{"task": "pension_auth" | "auth_status" | "service_lookup", "service": id}``
- ``resident``: ``{"ref": <HMAC-SHA256 of the ID number>, "next_due": "YYYY-MM-DD", "suspended"}``

The ID number itself never leaves the action server: ``ref`` is a keyed hash, the same for
the same resident on every channel, meaningless without the key (``$RESIDENT_REF_KEY``, else
one created once in ``$VAR_DIR/resident_ref_key``, 0600).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from datetime import date
from pathlib import Path
from typing import Any, Literal

from actions.settings import DEFAULT_VAR_DIR

KEY_VARIABLE = "RESIDENT_REF_KEY"
Task = Literal["pension_auth", "auth_status", "service_lookup"]

_key: bytes | None = None


def _load_key() -> bytes:
    configured = os.environ.get(KEY_VARIABLE, "").strip()
    if configured:
        return configured.encode("utf-8")
    path = Path(os.environ.get("VAR_DIR", DEFAULT_VAR_DIR)) / "resident_ref_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another action server made it meanwhile
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as file:
                file.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip().encode("ascii")


def set_key(key: bytes | None) -> None:
    """Use this key (tests); ``None`` reads the environment again on next use."""
    global _key
    _key = key


def _keyed(value: str) -> str:
    global _key
    if _key is None:
        _key = _load_key()
    return hmac.new(_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def resident_ref(id_number: str) -> str:
    """The resident's opaque reference: the same ID number always gives the same one."""
    return _keyed(id_number.upper())


def helper_ref(sender_id: str) -> str:
    """A helper's reference (their conversation's sender), for counting whom they helped."""
    return _keyed(f"helper:{sender_id}")


def task_done(task: Task, service: str | None = None) -> dict[str, Any]:
    return {"task_done": {"task": task, "service": service}}


def identified(id_number: str, next_due: date | None, suspended: bool) -> dict[str, Any]:
    return {
        "resident": {
            "ref": resident_ref(id_number),
            "next_due": next_due.isoformat() if next_due else None,
            "suspended": suspended,
        }
    }


def custom(*parts: dict[str, Any]) -> dict[str, Any]:
    """The parts as one ``custom`` payload, given with the words they belong to.

    A reply's own ``custom`` (an ``expect``) is replaced by what the action sends, so an
    action that tells the gateway something on a question passes the question's part too.
    """
    payload: dict[str, Any] = {}
    for part in parts:
        payload.update(part)
    return payload
