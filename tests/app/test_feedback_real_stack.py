"""好差评 and 差评必改 end to end through the real stack (action server, Rasa with the trained
model, gateway): an authentication ends → the rating is asked → "不太满意，等太久了" → a case
with deadlines → an agent calls back and fixes it → the resident is told on their channel
(the user messages API the web chat reads) and rates the fix; a skipped rating is not
asked again.

Needs the trained model: `make test` trains it and passes its path in RASA_MODEL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from bot.feedback import texts as feedback_texts
from scripts.stack import Stack

from .handoff_kit import AgentApi, add_agent, sqlite_url
from .real_stack import running_stack, say, texts

LEVELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("var")) as running:
        add_agent(sqlite_url(running.config.var_dir / "gateway.db"), "wangfang")
        yield running


def _authenticate(stack: Stack, sender: str) -> list[dict[str, Any]]:
    """A whole authentication of 王桂兰, up to the turn that asks for a rating."""
    assert "姓名" in "".join(texts(say(stack, sender, "我要办养老金认证")))
    assert "身份证" in "".join(texts(say(stack, sender, "我叫王桂兰")))
    readback = texts(say(stack, sender, "幺幺零幺零五 一九四九一零零一 零零三幺"))
    assert readback == ["我听到的号码是：110105，19491001，0031。对吗？"], readback
    done = say(stack, sender, "对")
    assert any("认证" in t for t in texts(done)), done
    if "到期前要提醒您吗？" not in texts(done):
        return done  # already authenticated this cycle: nothing left open, asked at once
    # The task ended with a question open (提醒您吗？ expects yes/no): no rating yet.
    assert feedback_texts.ASK_RATING not in texts(done)
    return say(stack, sender, "不用")


def test_a_bad_rating_is_fixed_and_the_resident_rates_the_fix(stack: Stack) -> None:
    sender = f"web-{uuid.uuid4().hex[:8]}"
    replies = _authenticate(stack, sender)
    assert texts(replies)[-1] == feedback_texts.ASK_RATING, replies
    assert [b["title"] for b in replies[-1]["buttons"]] == LEVELS

    assert texts(say(stack, sender, "不太满意，等太久了")) == [feedback_texts.THANKS_BAD]

    with httpx.Client(base_url=stack.config.gateway_url, timeout=30) as client:
        agent = AgentApi(client, "wangfang")  # type: ignore[arg-type]
        listing = agent.ok("get", "/cases")
        (case,) = [c for c in listing["unassigned"] if c["task"] == "pension_auth"]
        assert case["level_words"] == "不满意" and case["state"] == "open"
        opened = datetime.fromisoformat(case["opened_at"])
        assert datetime.fromisoformat(case["callback_due_at"]) > opened
        assert datetime.fromisoformat(case["fix_due_at"]) > opened
        assert agent.get(f"/cases/{case['id']}").status_code == 403  # not theirs yet
        agent.ok("post", f"/cases/{case['id']}/take")
        page = agent.ok("get", f"/cases/{case['id']}")
        assert page["reason"] == "等太久了"
        shown = " ".join(m.get("text") or "" for m in page["transcript"])
        assert "110105********0031" in shown and "19491001" not in shown, "ID masked"
        agent.ok("post", f"/cases/{case['id']}/steps", json={"to": "called_back"})
        cursor = client.get(f"/api/conversations/{sender}/messages").json()["cursor"]
        agent.ok(
            "post",
            f"/cases/{case['id']}/steps",
            json={"to": "fixed", "note": "已经加派人手，以后不用等这么久。"},
        )
        told = client.get(f"/api/conversations/{sender}/messages", params={"after": cursor})
        (result,) = told.json()["messages"]
        assert result["text"].startswith("您上次的意见我们处理好了：已经加派人手")
        assert [b["title"] for b in result["buttons"]] == LEVELS

        assert texts(say(stack, sender, "满意")) == [feedback_texts.THANKS]
        page = agent.ok("post", f"/cases/{case['id']}/steps", json={"to": "closed"})
        assert page["case"]["followup_level"] == 4 and page["case"]["state"] == "closed"


def test_a_skipped_rating_is_not_asked_again(stack: Stack) -> None:
    sender = f"web-{uuid.uuid4().hex[:8]}"
    assert texts(_authenticate(stack, sender))[-1] == feedback_texts.ASK_RATING
    assert texts(say(stack, sender, "跳过")) == [feedback_texts.SKIPPED]
    for text in ("你好", "谢谢"):
        assert feedback_texts.ASK_RATING not in texts(say(stack, sender, text))
