"""Personal data at rest in Rasa's tracker store (issue 13.4), through the real stack.

A whole authentication with a phone number said on the way, then var/tracker.db read as
a file: no ID number or phone number in any column of any table. Rasa is then stopped and
started again with the same key, and the conversation goes on where it was.
"""

from __future__ import annotations

import json
import re
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest

from scripts.stack import TRACKER_KEY_VARIABLE, tracker_key

from .real_stack import running_stack, say, texts, tracker

ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
PHONE = re.compile(r"1[0-9]{10}")


def every_value(db: Path) -> list[str]:
    """Every cell of every table, as text (the file opened read-only, as anyone could)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return [
            str(cell)
            for table in tables
            for row in connection.execute(f'SELECT * FROM "{table}"')
            for cell in row
        ]


def environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (item.decode(errors="replace").partition("=") for item in raw if item)
    return {name: value for name, _, value in pairs}


def test_authentication_leaves_no_personal_number_in_the_tracker_and_survives_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = f"rest-{uuid.uuid4().hex[:8]}"
    with running_stack(tmp_path) as stack:
        say(stack, sender, "我的电话是幺三八一二三四五六七八")
        assert "姓名" in "".join(texts(say(stack, sender, "我要认证")))
        assert "身份证" in "".join(texts(say(stack, sender, "王桂兰")))
        readback = texts(say(stack, sender, "幺幺零幺零五 一九四九一零零一 零零三幺"))
        assert readback == ["我听到的号码是：110105，19491001，0031。对吗？"], readback
        done = texts(say(stack, sender, "对"))
        assert any("认证成功" in t for t in done), done
        before = tracker(stack, sender)
        assert before["slots"]["auth_result"] == "success"
        # The events Rasa keeps do hold the numbers (the user's words, parsed entities)…
        said = json.dumps(before["events"], ensure_ascii=False)
        assert "110105194910010031" in said and "13812345678" in said

        # …but not readably: the key lives in var/, this user's only, and only Rasa has it.
        key_file = tmp_path / "tracker_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = tracker_key(tmp_path)
        assert environment(stack.processes["rasa"].pid).get(TRACKER_KEY_VARIABLE) == key
        for other in ("gateway", "actions"):
            assert TRACKER_KEY_VARIABLE not in environment(stack.processes[other].pid), other
        for proc in stack.processes.values():
            assert key.encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()

        stored = every_value(tmp_path / "tracker.db")
        assert len(stored) > 50, "the conversation is in this file"
        assert [v for v in stored if ID_NUMBER.search(v) or PHONE.search(v)] == []
        assert not any("王桂兰" in v or "幺幺零" in v for v in stored)

        # Rasa stopped and started again on the same var/ (same key): nothing is lost.
        stack.stop()
        with monkeypatch.context() as env:
            env.delenv("DATABASE_URL", raising=False)
            env.delenv("GATEWAY_DATABASE_URL", raising=False)
            stack.start()
        after = tracker(stack, sender)
        assert after["slots"]["auth_result"] == "success"
        assert after["events"] == before["events"]
        assert texts(say(stack, sender, "再说一遍")) == done
