"""Reading a resident's short answer to the rating question (bot.feedback.rating_words)."""

from __future__ import annotations

import pytest

from bot.feedback.rating_words import (
    BUTTON_ORDER,
    SPOKEN_OPTIONS,
    Level,
    parse_level,
    read_rating,
)


@pytest.mark.parametrize(
    ("said", "level"),
    [
        ("满意", Level.SATISFIED),
        ("非常满意！", Level.VERY_SATISFIED),
        ("很好", Level.SATISFIED),
        ("嗯，满意吧", Level.SATISFIED),
        ("好的谢谢", Level.SATISFIED),
        ("还行", Level.BASICALLY_SATISFIED),
        ("基本满意", Level.BASICALLY_SATISFIED),
        ("一般", Level.BASICALLY_SATISFIED),
        ("不太满意", Level.DISSATISFIED),
        ("不满意", Level.DISSATISFIED),
        ("太差了", Level.VERY_DISSATISFIED),
        ("非常不满意", Level.VERY_DISSATISFIED),
        ("我觉得很差", Level.VERY_DISSATISFIED),
    ],
)
def test_spoken_levels(said: str, level: Level) -> None:
    read = read_rating(said)
    assert read is not None and read.answer.level is level and read.rest == ""


@pytest.mark.parametrize("said", ["跳过", "不评了", "算了", "不想评"])
def test_skips(said: str) -> None:
    read = read_rating(said)
    assert read is not None and read.answer.skipped


def test_a_bad_rating_keeps_the_reason_said_in_the_same_breath() -> None:
    read = read_rating("不太满意，等太久了")
    assert read is not None
    assert read.answer.level is Level.DISSATISFIED and read.rest == "等太久了"


@pytest.mark.parametrize(
    "said",
    [
        "我还想问一下医保",
        "你好",
        "您好",
        "办认证",
        "我要认证",
        "满意但是太慢了",
        "好的我要查一下",
        "",
        "   ",
    ],
)
def test_other_sentences_are_not_answers(said: str) -> None:
    """A sentence about something else goes on to the dialogue (and the rating is skipped)."""
    assert read_rating(said) is None


def test_buttons_and_levels() -> None:
    assert BUTTON_ORDER == ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
    assert [parse_level(w) for w in BUTTON_ORDER] == [5, 4, 3, 2, 1]
    assert parse_level("2") is Level.DISSATISFIED and parse_level("6") is None
    assert Level.DISSATISFIED.is_bad and Level.VERY_DISSATISFIED.is_bad
    assert not Level.BASICALLY_SATISFIED.is_bad


def test_every_option_the_kiosk_listens_for_is_read() -> None:
    """The recogniser's choice grammar (custom.expect) only holds words this reader knows."""
    for option in SPOKEN_OPTIONS:
        assert read_rating(option) is not None, option
