"""帮他人认证 and 删除我的记录 through the real stack (issue 13, items 3 and 4).

A helper authenticates their mother, who confirms in her own words; the registry records
the helper's relation with the certification. Without the elder's 同意 nothing is
recorded, and a helper at the limit is stopped before the elder is asked. "删除我的记录",
confirmed, leaves nothing of the conversation in Rasa's tracker database. The turn that
ends a task tells the gateway so (``custom.task_done``, ``custom.resident``).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.stack import Stack

from .real_stack import running_stack, say, texts

WANG = ("王桂兰", "110105194910010031")
CHEN = ("陈秀英", "51010719450208002X")
LI = ("李建国", "310104195203150049")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HELPER_LIMIT", "1")  # the second resident a helper brings is refused
        with running_stack(tmp_path_factory.mktemp("var")) as running:
            yield running


def new_sender() -> str:
    return f"assist-{uuid.uuid4().hex[:8]}"


def turn(stack: Stack, sender: str, text: str) -> str:
    return "".join(texts(say(stack, sender, text)))


def assisted_rows(stack: Stack) -> list[tuple[str, str, int]]:
    with sqlite3.connect(stack.config.var_dir / "registry.sqlite3") as connection:
        return connection.execute(
            "SELECT id_number, helper_relation, resident_confirmed FROM assisted_certifications"
        ).fetchall()


def helper_reaches_the_consent(
    stack: Stack, sender: str, opening: str, who: tuple[str, str]
) -> str:
    asked = turn(stack, sender, opening)
    if "什么人" in asked:  # the relation was not in the opening words
        asked = turn(stack, sender, "我是她女儿")
    assert "老人的姓名" in asked, asked
    assert "老人的身份证" in turn(stack, sender, who[0])
    assert "对吗" in turn(stack, sender, who[1])
    return turn(stack, sender, "对")


def test_a_helper_authenticates_an_elder_who_confirms_in_her_own_words(stack: Stack) -> None:
    sender = new_sender()
    consent = helper_reaches_the_consent(stack, sender, "我帮我妈认证", WANG)
    assert consent == "请让老人自己说：同意认证。"
    replies = say(stack, sender, "同意认证")
    done = "".join(texts(replies))
    assert "认证成功" in done and "下次请在" in done, done
    custom = {k: v for r in replies for k, v in (r.get("custom") or {}).items()}
    assert custom["task_done"] == {"task": "pension_auth", "service": None}
    # The helper's channel is not linked to the elder: no resident ref, no reminder offer.
    assert "resident" not in custom and "到期前要提醒您吗" not in done
    assert assisted_rows(stack) == [(WANG[1], "子女", 1)]
    turn(stack, sender, "跳过")  # the rating the gateway asks for after a task
    # Helper mode ended with the task: the next authentication is the speaker's own.
    assert "请说您的姓名" in turn(stack, sender, "我要认证")


def test_without_the_elders_agreement_nothing_is_recorded(stack: Stack) -> None:
    sender = new_sender()
    before = assisted_rows(stack)
    consent = helper_reaches_the_consent(stack, sender, "我是社工，帮老人认证", CHEN)
    assert "同意认证" in consent
    assert "没有同意" in turn(stack, sender, "我不同意")
    assert assisted_rows(stack) == before


def test_a_helper_at_the_limit_is_stopped_before_the_elder_is_asked(stack: Stack) -> None:
    sender = new_sender()
    helper_reaches_the_consent(stack, sender, "我帮我妈认证", CHEN)
    assert "认证成功" in turn(stack, sender, "同意")
    turn(stack, sender, "不用")  # no reminder
    # One resident is this helper's limit in this stack: a second one is refused.
    refused = helper_reaches_the_consent(stack, sender, "我还要帮我爸认证", LI)
    assert "不能再帮新的老人认证" in refused, refused
    assert all(row[0] != LI[1] for row in assisted_rows(stack))


def test_cancel_works_in_helper_mode(stack: Stack) -> None:
    sender = new_sender()
    assert "什么人" in turn(stack, sender, "能帮别人认证吗")
    assert "取消" in turn(stack, sender, "取消")
    assert "请说您的姓名" in turn(stack, sender, "我要认证")


def test_delete_my_records_leaves_nothing_in_the_tracker_store(stack: Stack) -> None:
    sender = new_sender()
    assert "养老金" in turn(stack, sender, "你好")
    asked = say(stack, sender, "删除我的记录")
    assert "找不回来" in "".join(texts(asked))
    done = say(stack, sender, "对")
    assert "已经删除" in "".join(texts(done))
    assert any((r.get("custom") or {}).get("forget_me") is True for r in done), done
    db: Path = stack.config.var_dir / "tracker.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        left = connection.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,))
        assert left.fetchone()[0] == 0
    # The resident can start again: a new conversation.
    assert "养老金" in turn(stack, sender, "你好")


def test_no_is_no_to_deleting(stack: Stack) -> None:
    sender = new_sender()
    turn(stack, sender, "删除我的记录")
    assert "不删" in turn(stack, sender, "不用")


def test_a_person_can_be_asked_for_while_the_elder_is_asked(stack: Stack) -> None:
    sender = new_sender()
    asked = turn(stack, sender, "我替老伴办一下认证")
    assert "老人的姓名" in asked, asked
    assert "工作人员" in turn(stack, sender, "转人工")
