"""What a resident's short answer to the rating question means: a level, a skip, or nothing.

The question is asked by voice as often as by screen, so the answer is a few words said
any way people say them: "满意", "还行", "不太满意", "很好", "太差了", "跳过". A sentence that is
about something else ("我还想问一下医保") is *not* an answer: the gateway then passes it on
to the dialogue and counts the rating as skipped. So this reader is deliberately narrow:
only short utterances made of rating words (plus particles and politeness) are read.

Levels follow the 好差评 scale: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum


class Level(IntEnum):
    """The five 好差评 levels; 不满意 and 非常不满意 are a 差评."""

    VERY_DISSATISFIED = 1
    DISSATISFIED = 2
    BASICALLY_SATISFIED = 3
    SATISFIED = 4
    VERY_SATISFIED = 5

    @property
    def words(self) -> str:
        """The level's official name, also the button's title."""
        return LEVEL_WORDS[self]

    @property
    def is_bad(self) -> bool:
        """A 差评: every one opens a 差评必改 case."""
        return self <= Level.DISSATISFIED


LEVEL_WORDS: dict[Level, str] = {
    Level.VERY_SATISFIED: "非常满意",
    Level.SATISFIED: "满意",
    Level.BASICALLY_SATISFIED: "基本满意",
    Level.DISSATISFIED: "不满意",
    Level.VERY_DISSATISFIED: "非常不满意",
}

# Best first: the buttons' order, most positive on top as the standard's forms show them.
BUTTON_ORDER = tuple(LEVEL_WORDS[level] for level in sorted(Level, reverse=True))
# What the kiosk's recogniser listens for while a rating is asked (``custom.expect``
# choice): the levels and the short ways people say them; anything else is decoded freely.
SPOKEN_OPTIONS = (*BUTTON_ORDER, "还行", "不太满意", "很好", "太差了", "跳过", "不评了")


@dataclass(frozen=True)
class RatingAnswer:
    """A read answer: a level, or ``level=None`` for an explicit skip."""

    level: Level | None

    @property
    def skipped(self) -> bool:
        """The resident declined to rate (跳过 / 不评了)."""
        return self.level is None


# Longest phrases first so 非常不满意 is not read as 满意; the alternation is tried in order.
_PHRASES: list[tuple[str, Level | None]] = [
    (p, level)
    for level, phrases in (
        (
            Level.VERY_DISSATISFIED,
            "非常不满意 很不满意 特别不满意 太不满意 极不满意 非常差 很差 太差 特别差 差劲 "
            "糟透 太糟糕 很糟糕 非常糟糕 一点都不满意 一点也不满意 差评 很烂 太烂",
        ),
        (
            Level.DISSATISFIED,
            "不太满意 不大满意 不怎么满意 不满意 不是很满意 不够好 不太好 不好 不行 一般般 差 "
            "不咋样 不怎么样 不太行 有点差",
        ),
        (
            Level.BASICALLY_SATISFIED,
            "基本满意 比较满意 还算满意 还行 还可以 还好 凑合 一般 马马虎虎 过得去 可以吧 还凑合",
        ),
        (
            Level.VERY_SATISFIED,
            "非常满意 很满意 特别满意 太满意 十分满意 非常好 太好了 特别好 好极了 棒极了 太棒 "
            "非常棒 很棒 五星 好评",
        ),
        (Level.SATISFIED, "满意 挺满意 很好 挺好 不错 好的 好 可以 行 棒 挺不错"),
        (None, "跳过 不评了 不评 不想评 不用评 不评价 算了 不打分 以后再说 下次吧"),
    )
    for p in phrases.split()
]
_PHRASES.sort(key=lambda item: len(item[0]), reverse=True)
_BY_PHRASE = dict(_PHRASES)
_ALTERNATION = re.compile("|".join(re.escape(p) for p, _ in _PHRASES))

# Words that may surround a rating without changing it: particles, "I think", thanks.
_FILLER = re.compile(
    r"[\s,，。.!！?？~、…:：;；\"“”'\u2018\u2019]|我觉得|我感觉|感觉|觉得|我|嗯|呃|啊|呀|吧|吗|呢|哦|噢|了|的|"
    r"啦|哈|还是|算是|服务|这次|挺|真|就|给|打|分|个|谢谢|谢了"
)
# An answer longer than this is a sentence about something else, whatever words it has;
# after the rating words the rest (等太久了) may be said in the same breath as a reason.
_MAX_CHARS = 24


@dataclass(frozen=True)
class ReadAnswer:
    """An answer and whatever the resident said after the rating words (a reason)."""

    answer: RatingAnswer
    rest: str


def read_rating(text: str) -> ReadAnswer | None:
    """Read a spoken or typed answer to the rating question; None if it is not one.

    The rating words must come first (after fillers); what follows them, if anything, is
    returned as `rest` ("不太满意，等太久了" → 不满意, rest "等太久了") so a 差评's reason
    said in the same breath is kept. Anything else is not an answer.
    """
    stripped = text.strip()
    if not stripped or len(stripped) > _MAX_CHARS:
        return None
    position = 0
    while True:
        filler = _FILLER.match(stripped, position)
        if filler is None or filler.end() == position:
            break
        position = filler.end()
    match = _ALTERNATION.match(stripped, position)
    if match is None:
        return None
    level = _BY_PHRASE[match.group()]
    rest = stripped[match.end() :]
    leftover = _FILLER.sub("", rest)
    # A second rating word after the first (很好很好) changes nothing; other words are a
    # reason, which only a 差评 keeps (满意，谢谢 has none).
    if leftover and _ALTERNATION.fullmatch(leftover):
        leftover = ""
    reason = rest.strip(" ,，。.!！、") if leftover else ""
    if reason and (level is None or not level.is_bad):
        # 满意，但是... — a mixed sentence is not a clean rating; let the resident choose.
        return None
    return ReadAnswer(answer=RatingAnswer(level=level), rest=reason)


def parse_level(value: str) -> Level | None:
    """A level named by a button title / API value: the official words or the digit 1-5."""
    value = value.strip()
    if value.isdigit() and 1 <= int(value) <= 5:
        return Level(int(value))
    for level, words in LEVEL_WORDS.items():
        if value == words:
            return level
    return None
