"""Do two ways of writing a name sound the same?

A recogniser hears sounds, not characters: 王桂兰 comes out as 王贵兰, 卢美华 as 卢美花.
Two names match by sound when they have the same number of characters and each pair of
characters shares a reading, tones ignored and the accent merges of `nlu.pinyin` applied
(l/n, zh/z, in/ing …). Such a match is only a candidate: the bot confirms it by
describing the registered characters (`nlu.name_words`).
"""

from __future__ import annotations

import enum

from nlu.pinyin import character_sounds


class NameMatch(enum.Enum):
    """How the name a resident gave compares with the registered one."""

    EXACT = "exact"
    BY_SOUND = "by_sound"
    NO = "no"


def sounds_alike(a: str, b: str) -> bool:
    """Same length, and every character of ``a`` shares a reading with the one in ``b``."""
    return len(a) == len(b) and all(
        x == y or character_sounds(x) & character_sounds(y) for x, y in zip(a, b, strict=True)
    )


def match_name(registered: str, said: str) -> NameMatch:
    """Exact characters, the same sounds, or no match."""
    if registered == said:
        return NameMatch.EXACT
    if said and sounds_alike(registered, said):
        return NameMatch.BY_SOUND
    return NameMatch.NO
