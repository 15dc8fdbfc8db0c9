"""Toneless pinyin of Chinese text: how a word sounds, whatever characters wrote it.

Speech recognisers write homophones (任正 for 认证, 一宝 for 医保); compared by sound they
match. Plain Python (pypinyin only) so the action server can use it without loading the
Rasa training stack.
"""

from __future__ import annotations

import functools
import re

LETTERS = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=20000)
def token_syllables(token_text: str) -> tuple[str, ...]:
    """Toneless pinyin syllables of one token, e.g. 认证 -> ("ren", "zheng").

    Latin words come back as the lowercased word itself ("wifi").  Digits are
    skipped: long numbers are the extractors' job, and a vocabulary entry per
    ID or phone number from the training data would both leak personal
    numbers into the model and never match again.  Punctuation has no sound
    and is skipped too.  Cached: the same few thousand tokens recur.
    """
    from pypinyin import lazy_pinyin

    syllables: list[str] = []
    for item in lazy_pinyin(token_text):
        # non-Chinese chunks come back whole ("wifi-6", "，"); keep their letter parts only
        syllables.extend(LETTERS.findall(item.lower()))
    return tuple(syllables)


def fuzzy_syllable(syllable: str) -> str:
    """One toneless syllable with the sound merges a recogniser or an accent makes.

    zh/z, ch/c, sh/s, n/l and -ng/-n: 近贴, 金贴 and 津贴 all sound "jin tie".
    """
    syllable = re.sub(r"^([zcs])h", r"\1", syllable)
    if syllable.startswith("n") and syllable != "ng":
        syllable = "l" + syllable[1:]
    return re.sub(r"([aei])ng$", r"\1n", syllable)


def fuzzy_syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin of ``text``, letters only, accent merges applied."""
    return tuple(fuzzy_syllable(s) for s in token_syllables(text))


@functools.lru_cache(maxsize=20000)
def character_sounds(char: str) -> frozenset[str]:
    """Every reading of one character, merged: a surname such as 单 (shan) or 曾 (zeng)
    is often not the character's everyday reading."""
    from pypinyin import Style, pinyin

    readings = pinyin(char, style=Style.NORMAL, heteronym=True)
    return frozenset(fuzzy_syllable(r) for group in readings for r in group if LETTERS.fullmatch(r))
