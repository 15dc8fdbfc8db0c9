"""Reminder consent, opt-out and 删除我的记录 through the real stack (action server, Rasa
with the trained model, gateway): what the dialogue says in ``custom`` is what the gateway
stores — the resident's ref and due date, never the ID number — and forgetting leaves
nothing of the sender in the gateway's database."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.stack import Stack

from .real_stack import running_stack, say, texts

WANG = ("王桂兰", "110105194910010031")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("var")) as running:
        yield running


def turn(stack: Stack, sender: str, text: str) -> str:
    return "".join(texts(say(stack, sender, text)))


def gateway_rows(stack: Stack, query: str, *args: Any) -> list[tuple[Any, ...]]:
    db: Path = stack.config.var_dir / "gateway.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return connection.execute(query, args).fetchall()


def test_consent_opt_out_and_forget_me_reach_the_gateway(stack: Stack) -> None:
    sender = f"web-{uuid.uuid4().hex[:8]}"
    turn(stack, sender, "我要认证")
    turn(stack, sender, WANG[0])
    assert "对吗" in turn(stack, sender, WANG[1])
    done = turn(stack, sender, "对")
    assert "认证成功" in done and "到期前要提醒您吗" in done, done

    ((ref, next_due, consent),) = gateway_rows(
        stack, "SELECT ref, next_due, reminders_consent FROM residents"
    )
    assert re.fullmatch(r"[0-9a-f]{64}", ref) and next_due and consent is None
    assert gateway_rows(stack, "SELECT sender_id FROM resident_senders") == [(sender,)]
    assert "提醒您" in turn(stack, sender, "要")
    assert gateway_rows(stack, "SELECT reminders_consent FROM residents") == [(1,)]

    assert "不再提醒" in turn(stack, sender, "不要再提醒我了")
    assert gateway_rows(stack, "SELECT reminders_consent FROM residents") == [(0,)]

    turn(stack, sender, "删除我的记录")
    assert "已经删除" in turn(stack, sender, "对")
    assert gateway_rows(stack, "SELECT id FROM conversations WHERE sender_id = ?", sender) == []
    assert gateway_rows(stack, "SELECT ref FROM residents") == []
    every_text = gateway_rows(stack, "SELECT text FROM messages")
    assert WANG[1] not in str(every_text) and WANG[0] not in str(every_text)
