"""The bot's ``expect`` payload -> the grammar the kiosk listens with (no model needed)."""

from __future__ import annotations

import logging

import pytest

from voice.asr import NUMBER_WORDS, YES_NO_PHRASES
from voice.expectations import (
    COMMAND_PHRASES,
    FREE,
    Expectation,
    ExpectKind,
    expectation_of_turn,
    grammar_for,
    parse_expect,
)


def test_yes_no_grammar_has_the_answers_and_the_commands() -> None:
    grammar = grammar_for(Expectation(ExpectKind.YES_NO))
    assert grammar is not None
    assert set(YES_NO_PHRASES) <= set(grammar.phrases)
    assert set(COMMAND_PHRASES) <= set(grammar.phrases), "转人工 works in every state"
    assert "四" not in grammar.phrases


def test_digits_grammar_has_spoken_digits_and_x() -> None:
    grammar = grammar_for(Expectation(ExpectKind.DIGITS))
    assert grammar is not None
    assert set(NUMBER_WORDS) <= set(grammar.phrases)
    assert {"幺", "洞", "两", "叉", "取消"} <= set(grammar.phrases)
    assert "是" not in grammar.phrases


def test_choice_grammar_has_the_options_their_ordinals_and_yes_no() -> None:
    grammar = grammar_for(Expectation(ExpectKind.CHOICE, ("高龄津贴", "残疾证")))
    assert grammar is not None
    assert {"高龄津贴", "残疾证", "第一个", "第二个", "好的"} <= set(grammar.phrases)
    assert "第三个" not in grammar.phrases, "only as many ordinals as options"
    assert len(grammar.phrases) == len(set(grammar.phrases))


def test_free_speech_has_no_grammar() -> None:
    assert grammar_for(FREE) is None


@pytest.mark.parametrize(
    ("custom", "wanted"),
    [
        ({"expect": {"kind": "yes_no"}}, Expectation(ExpectKind.YES_NO)),
        ({"expect": {"kind": "digits"}}, Expectation(ExpectKind.DIGITS)),
        (
            {"expect": {"kind": "choice", "options": [" 医保缴费", "医保报销", "医保缴费", ""]}},
            Expectation(ExpectKind.CHOICE, ("医保缴费", "医保报销")),
        ),
        ({"expect": {"kind": "free"}}, FREE),
        ({"speech_rate": 0.8}, None),
        (None, None),
    ],
)
def test_parse_expect(custom: dict[str, object] | None, wanted: Expectation | None) -> None:
    assert parse_expect(custom) == wanted


@pytest.mark.parametrize(
    "broken",
    [
        {"expect": {"kind": "poem"}},
        {"expect": "yes_no"},
        {"expect": {"kind": "choice"}},
        {"expect": {"kind": "choice", "options": "是不是"}},
        {"expect": {"kind": "choice", "options": [1, 2]}},
    ],
)
def test_a_broken_expect_is_ignored_with_a_warning(
    broken: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="voice.expectations"):
        assert parse_expect(broken) is None
    assert caplog.records


def test_a_turn_the_last_declared_expectation_wins_and_buttons_join_it() -> None:
    turn = expectation_of_turn(
        [
            None,
            {"expect": {"kind": "digits"}},
            {"speech_rate": 0.8},
            {"expect": {"kind": "yes_no"}},
        ],
        ["转人工", "不用了"],
    )
    assert turn == Expectation(ExpectKind.YES_NO, ("转人工", "不用了"))
    grammar = grammar_for(turn)
    assert grammar is not None and "不用了" in grammar.phrases


def test_buttons_alone_are_a_choice_and_nothing_is_free_speech() -> None:
    assert expectation_of_turn([None], ["养老金资格认证", "办事指南"]) == Expectation(
        ExpectKind.CHOICE, ("养老金资格认证", "办事指南")
    )
    assert expectation_of_turn([None, {"handoff": {"reason": "x"}}], []) == FREE
