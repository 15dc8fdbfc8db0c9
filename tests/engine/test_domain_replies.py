"""Every reply is read aloud to elderly users: short sentences, one question at a time."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
SENTENCE_END = re.compile(r"(?<=[。！？])")
MAX_SENTENCE_CHARS = 36  # about one breath of Mandarin at a calm pace
MAX_REPLY_CHARS = 70


def _texts() -> list[tuple[str, str]]:
    """(response, text as spoken) with each {slot} replaced by a typical value."""
    return [
        (name, re.sub(r"\{\w+\}", "某某", variant["text"]))
        for name, variants in DOMAIN["responses"].items()
        for variant in variants
        if variant.get("text")
    ]


def test_every_reply_is_short_enough_to_hear_in_one_breath() -> None:
    for name, text in _texts():
        assert len(text) <= MAX_REPLY_CHARS, name
        for sentence in filter(None, SENTENCE_END.split(text)):
            assert len(sentence) <= MAX_SENTENCE_CHARS, (name, sentence)


def test_at_most_one_question_per_reply() -> None:
    for name, text in _texts():
        assert text.count("？") <= 1, name


def test_replies_have_no_markup_a_screen_reader_would_spell_out() -> None:
    for name, text in _texts():
        assert not re.search(r"[<>*_#`\[\]]", text), name


def test_every_form_question_exists() -> None:
    for form, spec in DOMAIN["forms"].items():
        for slot in spec["required_slots"]:
            assert f"utter_ask_{form}_{slot}" in DOMAIN["responses"], (form, slot)
