"""The waiting user: place and wait in the same turn, news on changes, cancel, call-back."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bot.handoff import texts as handoff_texts
from bot.handoff.wait_time import HandlingStats, estimate_wait_s
from bot.handoff.waiting_room import is_cancel, is_decline
from bot.privacy.phone_numbers import read_phone_number

from .conftest import Gateways
from .fake_rasa import FakeRasaState
from .handoff_kit import AgentApi, add_agent, say, texts, user_messages, wait_for


def bot_texts(client: TestClient, sender: str) -> list[str]:
    return [
        m["text"]
        for m in user_messages(client, sender)["messages"]
        if m["role"] == "bot" and "text" in m
    ]


def test_cancel_while_waiting_leaves_the_queue_and_returns_to_the_bot(
    gateway: TestClient, gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(gateway, "wang")
    say(gateway, "u-cancel", "转人工")
    say(gateway, "u-other", "转人工")

    replies = say(gateway, "u-cancel", "取消")

    assert texts(replies) == [handoff_texts.CANCELLED]
    assert len(agent.queue()["items"]) == 1
    assert wait_for(lambda: "下一位就是您，工作人员马上来。" in bot_texts(gateway, "u-other"))
    assert [c["message"] for c in fake_rasa.webhook_calls] == ["转人工", "转人工"]
    say(gateway, "u-cancel", "你好")
    assert fake_rasa.webhook_calls[-1]["message"] == "你好", "back with the bot"


def test_cancel_is_only_for_waiting_not_for_a_conversation_with_an_agent(
    gateway: TestClient, gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(gateway, "wang")
    say(gateway, "u1", "转人工")
    (conversation_id,) = agent.waiting_ids()
    agent.ok("post", f"/conversations/{conversation_id}/claim")

    assert say(gateway, "u1", "取消") == []  # said to the agent, who decides

    view = agent.ok("get", f"/conversations/{conversation_id}")
    assert view["handoff"]["status"] == "claimed"
    assert view["messages"][-1]["text"] == "取消"
    assert len(fake_rasa.webhook_calls) == 1


def test_call_back_is_offered_after_the_configured_time_and_the_number_kept(
    gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    client = gateways.start(callback_offer_after_s=0.3, handoff_tick_s=0.05)
    add_agent(gateways.database_url, "wang")
    say(client, "u-cb", "转人工")
    assert handoff_texts.CALLBACK_OFFER not in bot_texts(client, "u-cb")

    wait_for(lambda: handoff_texts.CALLBACK_OFFER in bot_texts(client, "u-cb"), what="offer")
    offer = next(
        m
        for m in user_messages(client, "u-cb")["messages"]
        if m.get("text") == handoff_texts.CALLBACK_OFFER
    )
    assert offer["buttons"] == [{"title": "不用回电话", "payload": "不用"}]

    too_short = say(client, "u-cb", "幺三八 幺二三四")
    assert texts(too_short) == ["手机号是11位，我听到的是7位。请再说一遍。"]
    saved = say(client, "u-cb", "幺三八 幺二三四 嗯 五六七八")
    assert texts(saved) == ["记下了，号码是138 1234 5678。工作人员会打给您，位置不变。"]
    assert len(fake_rasa.webhook_calls) == 1, "none of this went to Rasa"

    agent = AgentApi(client, "wang")
    (item,) = agent.queue()["items"]
    assert item["position"] == 1, "the place in line was kept"
    assert item["callback_phone"] == "138****5678"
    conversation_id = item["conversation_id"]
    view = agent.ok("get", f"/conversations/{conversation_id}")
    assert view["handoff"]["callback_state"] == "collected"
    assert view["handoff"]["callback_phone"] == "138****5678"
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    revealed = agent.ok("post", f"/conversations/{conversation_id}/reveal")
    assert revealed["handoff"]["callback_phone"] == "13812345678"
    # Offered once, not on every tick.
    assert bot_texts(client, "u-cb").count(handoff_texts.CALLBACK_OFFER) == 1


def test_call_back_can_be_declined_and_the_user_keeps_waiting(
    gateways: Gateways,
) -> None:
    client = gateways.start(callback_offer_after_s=0.2, handoff_tick_s=0.05)
    add_agent(gateways.database_url, "wang")
    say(client, "u-no", "转人工")
    wait_for(lambda: handoff_texts.CALLBACK_OFFER in bot_texts(client, "u-no"), what="offer")

    assert texts(say(client, "u-no", "不用了，谢谢")) == [handoff_texts.CALLBACK_DECLINED]
    later = say(client, "u-no", "我再等等")
    assert texts(later) == ["您说的话工作人员都能看到。您排在第1位。"]
    agent = AgentApi(client, "wang")
    (conversation_id,) = agent.waiting_ids()
    assert (
        agent.ok("get", f"/conversations/{conversation_id}")["handoff"]["callback_state"]
        == "declined"
    )


def test_no_call_back_offer_before_the_time(gateways: Gateways) -> None:
    client = gateways.start(callback_offer_after_s=300, handoff_tick_s=0.05)
    say(client, "u-early", "转人工")
    reply = say(client, "u-early", "13812345678")
    assert texts(reply) == ["您说的话工作人员都能看到。您排在第1位。"]
    assert handoff_texts.CALLBACK_OFFER not in bot_texts(client, "u-early")


def test_estimate_uses_recent_handling_times(gateways: Gateways) -> None:
    client = gateways.start(default_handling_s=600)
    add_agent(gateways.database_url, "wang")
    assert say(client, "first", "转人工")[-1]["text"].startswith("您排在第1位，大约等10分钟。")
    agent = AgentApi(client, "wang")
    (conversation_id,) = agent.waiting_ids()
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    agent.ok("post", f"/conversations/{conversation_id}/close")  # handled in well under a minute

    assert say(client, "second", "转人工")[-1]["text"].startswith("您排在第1位，大约等1分钟。")


def test_estimate_model() -> None:
    none = HandlingStats(mean_handling_s=None, agents=0)
    assert estimate_wait_s(1, none, 240) == 240
    assert estimate_wait_s(3, none, 240) == 720
    busy = HandlingStats(mean_handling_s=120, agents=3)
    assert estimate_wait_s(6, busy, 240) == 240
    assert handoff_texts.wait_phrase(1) == "大约等1分钟"
    assert handoff_texts.wait_phrase(61) == "大约等2分钟"


@pytest.mark.parametrize(
    ("said", "phone", "count"),
    [
        ("13812345678", "13812345678", 11),
        ("138-1234-5678", "13812345678", 11),
        ("+86 138 1234 5678", "13812345678", 11),
        ("幺三八 幺二三四 五六七八", "13812345678", 11),
        ("我的电话是 一三八，一二三四，五六七八 谢谢", "13812345678", 11),
        ("幺三八幺二三四五六七", None, 10),
        ("不用了", None, 0),
        ("等了5分钟了", None, 0),
    ],
)
def test_reading_phone_numbers(said: str, phone: str | None, count: int) -> None:
    answer = read_phone_number(said)
    assert (answer.phone, answer.digit_count) == (phone, count)


@pytest.mark.parametrize(
    ("said", "cancel", "decline"),
    [
        ("取消", True, False),
        ("取消排队", True, False),
        ("我要取消。", True, False),
        ("嗯，不等了", True, False),
        ("算了吧", True, False),
        ("我想问一下怎么取消低保资格", False, False),
        ("不用", False, True),
        ("不用了，谢谢", False, True),
        ("我不要", False, True),
        ("不用回电话", False, True),
        ("你好", False, False),
    ],
)
def test_short_answers(said: str, cancel: bool, decline: bool) -> None:
    assert (is_cancel(said), is_decline(said)) == (cancel, decline)


def test_every_user_facing_sentence_is_short_plain_chinese() -> None:
    samples = [
        value
        for name, value in vars(handoff_texts).items()
        if name.isupper() and isinstance(value, str)
    ]
    samples += [
        handoff_texts.queue_position(12, 3600, first_notice=True),
        handoff_texts.queue_position(12, 3600, first_notice=False),
        handoff_texts.queue_position(1, 60, first_notice=False),
        handoff_texts.CALLBACK_SAVED.format(phone=handoff_texts.spoken_phone("13812345678")),
    ]
    assert len(samples) > 15
    for text in samples:
        for sentence in re.split(r"(?<=[。！？])", text):
            assert len(sentence) <= handoff_texts.MAX_SENTENCE_CHARS, sentence
        assert re.search(r"[\u4e00-\u9fff]", text), text
        assert not re.search(
            r"[A-Za-z]{2,}",
            text.replace("{position}", "")
            .replace("{wait}", "")
            .replace("{phone}", "")
            .replace("{count}", ""),
        ), text
