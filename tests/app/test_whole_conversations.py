"""Whole conversations through the real stack, as residents talk (issue: whole outcomes).

Names of every shape read whole, a recogniser's homophone confirmed by the registered
characters, a wrong name refused without revealing the registered one, no form asking a
third time in vain, noise starting nothing. Needs the trained model (`make test`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from scripts.stack import Stack

from .real_stack import running_stack, say, texts, tracker

OFFER = "要不要转人工"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("var")) as running:
        yield running


def new_sender() -> str:
    return f"whole-{uuid.uuid4().hex[:8]}"


def turn(stack: Stack, sender: str, text: str) -> str:
    return "".join(texts(say(stack, sender, text)))


@pytest.mark.parametrize(
    ("answer", "id_number"),
    [
        ("孙文华", "110106194504052638"),
        ("白文华", "310106193704243677"),
        ("我叫余永福", "440104195305077734"),
        ("吴霞", "110101194806068844"),
        ("邓强", "510105195405190755"),
        ("欧阳德胜", "420106195407157291"),
        ("木子李，建国", "310104195203150049"),
    ],
)
def test_names_of_every_shape_complete_the_authentication(
    stack: Stack, answer: str, id_number: str
) -> None:
    sender = new_sender()
    assert "姓名" in turn(stack, sender, "我要做养老金认证")
    asked = turn(stack, sender, answer)
    assert "身份证" in asked, asked
    assert "对吗" in turn(stack, sender, id_number)
    done = turn(stack, sender, "对")
    assert "认证成功" in done or "已经认证过了" in done, done


def test_a_homophone_matches_only_after_the_registered_characters_are_confirmed(
    stack: Stack,
) -> None:
    sender = new_sender()
    turn(stack, sender, "认证")
    turn(stack, sender, "王贵兰")  # 王桂兰 as a recogniser writes it
    turn(stack, sender, "幺幺零幺零五 一九四九一零零一 零零三幺")
    question = turn(stack, sender, "对")
    assert question == "登记的名字是王桂兰，桂花的桂，兰花的兰，对吗？", question
    assert tracker(stack, sender)["slots"]["auth_result"] is None, "nothing recorded yet"
    done = turn(stack, sender, "对")
    assert "认证成功" in done, done


def test_a_wrong_name_is_refused_without_revealing_the_registered_one(stack: Stack) -> None:
    sender = new_sender()
    turn(stack, sender, "认证")
    turn(stack, sender, "陈建军")
    turn(stack, sender, "51010719450208002X")
    refused = turn(stack, sender, "对")
    assert "对不上" in refused, refused
    assert "陈秀英" not in refused and "秀" not in refused
    assert tracker(stack, sender)["slots"]["auth_result"] == "name_mismatch"


@pytest.mark.parametrize(
    "opening",
    ["我要认证", "我的认证办好了没有", "我想问个办事指南", "附近的社区服务中心在哪"],
)
def test_the_third_ask_without_progress_offers_a_human(stack: Stack, opening: str) -> None:
    sender = new_sender()
    first = turn(stack, sender, opening)
    assert OFFER not in first
    assert OFFER not in turn(stack, sender, "嗯那个")
    offer = turn(stack, sender, "啊这个")
    assert OFFER in offer, offer
    replies = say(stack, sender, "要")
    handoff = [r["custom"]["handoff"] for r in replies if (r.get("custom") or {}).get("handoff")]
    assert handoff and handoff[0]["reason"] == "no_progress", replies


def test_no_thanks_to_the_offer_goes_on_with_the_task(stack: Stack) -> None:
    sender = new_sender()
    turn(stack, sender, "认证")
    turn(stack, sender, "嗯那个")
    assert OFFER in turn(stack, sender, "那个那个")
    again = turn(stack, sender, "不用")
    assert "接着办" in again and "姓名" in again and OFFER not in again, again
    assert "身份证" in turn(stack, sender, "王桂兰")


def test_noise_starts_no_task_and_the_second_time_offers_a_human(stack: Stack) -> None:
    sender = new_sender()
    assert turn(stack, sender, "呃那个那个就是说") == "没听清，请再说一遍。"
    assert tracker(stack, sender)["active_loop"] == {}
    assert OFFER in turn(stack, sender, "嗯嗯啊")


def test_a_service_named_colloquially_is_answered(stack: Stack) -> None:
    answer = turn(stack, new_sender(), "老年食堂吃饭怎么报名")
    assert "老年助餐" in answer, answer
