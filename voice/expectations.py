"""What the dialogue expects the person to say next, and the recogniser grammar for it.

The bot declares it in its reply as a custom payload (Rasa's REST channel sends it as an
element of its own): ``{"expect": {"kind": "yes_no"}}`` after "…对吗？",
``{"expect": {"kind": "digits"}}`` while it asks for an ID or phone number,
``{"expect": {"kind": "choice", "options": ["高龄津贴", "残疾证"]}}`` when it offers a few
options. Buttons in the same turn are a choice too, so a turn with buttons and no
``expect`` expects one of their titles. No expectation means free speech.

Why a grammar at all: the small Chinese model confuses short answers ("是" / "四") and
digits with similar-sounding words; a grammar makes the expected answers far more likely
to come out right. Every grammar also holds the commands that work in every state
(再说一遍, 慢一点, 帮助, 转人工, 取消), so "转人工" is still heard while an ID is asked, and
``voice.asr`` adds ``[unk]`` and decodes an out-of-grammar utterance again freely, so free
speech is never forced into a wrong word. Phrases the model does not know are dropped
there with a warning (none left: free speech).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nlu.commands import COMMAND_WORDS
from voice.asr import NUMBER_WORDS, YES_NO_PHRASES, Grammar

logger = logging.getLogger(__name__)

# The accessibility commands the bot understands in every state (../shared/design.md).
COMMAND_PHRASES = tuple(COMMAND_WORDS.values())
# "The second one": how people pick from a list read out to them.
ORDINAL_PHRASES = (
    "第一个",
    "第二个",
    "第三个",
    "第四个",
    "第五个",
    "第六个",
    "第七个",
    "第八个",
    "第九个",
)
MAX_OPTIONS = 20  # a spoken choice is short; more looks like a mistake in the payload
MAX_OPTION_CHARS = 20


class ExpectKind(StrEnum):
    FREE = "free"
    YES_NO = "yes_no"
    DIGITS = "digits"
    CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class Expectation:
    """The kind of answer the bot waits for; ``options`` are the words of a choice."""

    kind: ExpectKind = ExpectKind.FREE
    options: tuple[str, ...] = ()

    @property
    def is_free(self) -> bool:
        return self.kind is ExpectKind.FREE


FREE = Expectation()


def parse_expect(custom: Mapping[str, Any] | None) -> Expectation | None:
    """The expectation in one reply's custom payload; None if it has none or a broken one.

    A malformed payload is logged and ignored (free speech), never an error for the user.
    """
    if not custom or "expect" not in custom:
        return None
    raw = custom["expect"]
    kind_name = raw.get("kind") if isinstance(raw, Mapping) else None
    if kind_name not in set(ExpectKind):
        logger.warning("expect: unknown kind %r ignored", kind_name)
        return None
    kind = ExpectKind(kind_name)
    options: tuple[str, ...] = ()
    raw_options = raw.get("options") if isinstance(raw, Mapping) else None
    if raw_options is not None:
        if not isinstance(raw_options, list) or not all(isinstance(o, str) for o in raw_options):
            logger.warning("expect: options must be a list of strings; ignored")
            return None
        options = _clean_options(raw_options)
    if kind is ExpectKind.CHOICE and not options:
        logger.warning("expect: a choice without options ignored")
        return None
    return Expectation(kind, options)


def _clean_options(options: Iterable[str]) -> tuple[str, ...]:
    kept = [o.strip() for o in options if o.strip() and len(o.strip()) <= MAX_OPTION_CHARS]
    return tuple(dict.fromkeys(kept))[:MAX_OPTIONS]


def expectation_of_turn(
    customs: Sequence[Mapping[str, Any] | None], button_titles: Sequence[str]
) -> Expectation:
    """What the next utterance is listened for, from one turn's replies.

    The last declared ``expect`` wins; the turn's button titles are added to its options
    (they are what the page shows). Buttons alone make a choice; nothing makes free speech.
    """
    declared: Expectation | None = None
    for custom in customs:
        found = parse_expect(custom)
        if found is not None:
            declared = found
    titles = _clean_options(button_titles)
    if declared is None:
        return Expectation(ExpectKind.CHOICE, titles) if titles else FREE
    if declared.is_free or not titles:
        return declared
    return Expectation(declared.kind, _clean_options([*declared.options, *titles]))


def grammar_for(expectation: Expectation) -> Grammar | None:
    """The recogniser grammar for an expectation; None for free speech.

    yes/no: the yes/no phrases; digits: the spoken digits (幺, 洞, 两, 叉…); a choice: the
    options, "第一个"… for each, and yes/no (an offer is often answered "好的"). Options of a
    yes/no or digits expectation (button titles) are added too. Always the commands.
    """
    if expectation.is_free:
        return None
    phrases: list[str] = []
    if expectation.kind is ExpectKind.YES_NO:
        phrases += YES_NO_PHRASES
    elif expectation.kind is ExpectKind.DIGITS:
        phrases += NUMBER_WORDS
    elif expectation.kind is ExpectKind.CHOICE:
        phrases += ORDINAL_PHRASES[: len(expectation.options)]
        phrases += YES_NO_PHRASES
    phrases += expectation.options
    phrases += COMMAND_PHRASES
    return Grammar.choice(dict.fromkeys(phrases))
