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
