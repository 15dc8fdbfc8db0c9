"""Spoken-number normalisation for speech-recogniser transcripts.

The kiosk's offline recogniser writes long numbers (ID numbers, phone numbers)
the way people say them: as Chinese characters, with colloquial readings
(幺 for 1, 洞 for 0, 拐 for 7, 勾 for 9, 两 for 2), with pauses rendered as
spaces or punctuation, and with hesitation words (嗯, 那个, 就是 ...) between
digit groups.  Elderly users in particular read their numbers in chunks.  This
module turns such spans back into plain digit strings while remembering exactly
where in the original transcript each run came from, so that entity offsets stay
valid for Rasa (``text[start:end]`` is always the spoken span).

Pure Python on purpose: the action server and the voice gateway import it too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

#: Characters that are always read as a digit.  Full-width digits appear when
#: an input method or the recogniser emits them; they are ordinary digits too.
STRONG_DIGITS: dict[str, str] = {
    **{str(d): str(d) for d in range(10)},
    **{chr(ord("０") + d): str(d) for d in range(10)},
    "零": "0",
    "〇": "0",
    "一": "1",
    "二": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}

#: Colloquial digit readings.  They are ordinary words on their own (两个,
#: 拐弯, 勾选, 漏洞, 幺儿), so they only count as digits next to other digits.
WEAK_DIGITS: dict[str, str] = {
    "两": "2",
    "幺": "1",
    "洞": "0",
    "拐": "7",
    "勾": "9",
}

#: Readings of the ID check character X (the recogniser spells the letter as
#: 艾克斯 or hears it as 叉).  Only accepted at the very end of an ID-length run.
X_READINGS: tuple[str, ...] = ("艾克斯", "叉", "x", "X", "ｘ", "Ｘ")

#: Hesitation words that people put between digit groups.  Longest first so
#: that 就是 is consumed as one filler rather than 就 + 是.
FILLER_WORDS: tuple[str, ...] = ("那个", "就是", "然后", "嗯", "呃", "啊", "是")

#: Pause marks the recogniser writes between digit groups (plus any whitespace).
FILLER_PUNCTUATION = frozenset("，、,.-－．")

#: 一/两 directly followed by one of these is a word (一下, 一点, 一遍, 两个),
#: not the last digit of a number: "号码是一三八...七八一下" must still give 11
#: digits.
QUANTIFIER_DIGITS = frozenset("一两")
QUANTIFIER_FOLLOWERS = frozenset("下点些遍个次起样共直定会位")

#: An ID number has 18 characters; a run this long or longer may end in X.
#: 16 digits + X is still accepted so that a missed digit is reported as an
#: ID of the wrong length instead of silently vanishing.
_MIN_DIGITS_BEFORE_X = 16


@dataclass(frozen=True)
class NumberRun:
    """A run of spoken or written digits found in a transcript.

    ``start``/``end`` are offsets into the original text (end exclusive) from
    the first to the last digit character, so fillers inside the run are
    covered and fillers at the edges are not.  ``digits`` holds only 0-9 and
    possibly a final uppercase ``X``.  ``spans`` records the original offsets
    of every digit so that callers can split a run at the speaker's pauses
    (see :meth:`pause_indices` and :meth:`sub_run`); it is excluded from
    equality so tests and callers can compare runs by position and value.
    """

    start: int
    end: int
    digits: str
    spans: tuple[tuple[int, int], ...] = field(default=(), compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.digits)

    def pause_indices(self) -> list[int]:
        """Digit indices ``i`` where something (a filler) separates digit i-1 and i.

        People read long numbers in groups; a run that is too long to be one
        number (an ID followed by a phone number) can only sensibly be split
        at these pauses.
        """
        return [i for i in range(1, len(self.spans)) if self.spans[i - 1][1] < self.spans[i][0]]

    def sub_run(self, first: int, last: int) -> NumberRun:
        """The part of this run covering digits ``[first, last)`` with exact offsets."""
        if not self.spans:
            raise ValueError("NumberRun was built without digit spans")
        if not 0 <= first < last <= len(self.digits):
            raise ValueError(f"bad digit range [{first}, {last}) for {self.digits!r}")
        spans = self.spans[first:last]
        return NumberRun(spans[0][0], spans[-1][1], self.digits[first:last], spans)


# Token kinds used by the scanner.
_DIGIT, _WEAK, _X, _FILLER, _OTHER = "digit", "weak", "x", "filler", "other"


@dataclass(frozen=True)
class _Token:
    kind: str
    start: int
    end: int
    value: str = ""


def _scan(text: str) -> list[_Token]:
    """Split text into digit, X, filler and other tokens (longest match first)."""
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char in STRONG_DIGITS:
            tokens.append(_Token(_DIGIT, i, i + 1, STRONG_DIGITS[char]))
            i += 1
            continue
        if char in WEAK_DIGITS:
            tokens.append(_Token(_WEAK, i, i + 1, WEAK_DIGITS[char]))
            i += 1
            continue
        x_reading = _x_reading_at(text, i)
        if x_reading:
            tokens.append(_Token(_X, i, i + len(x_reading), "X"))
            i += len(x_reading)
            continue
        if char.isspace() or char in FILLER_PUNCTUATION:
            tokens.append(_Token(_FILLER, i, i + 1))
            i += 1
            continue
        filler = next((w for w in FILLER_WORDS if text.startswith(w, i)), None)
        if filler:
            tokens.append(_Token(_FILLER, i, i + len(filler)))
            i += len(filler)
            continue
        tokens.append(_Token(_OTHER, i, i + 1))
        i += 1
    return tokens


def _x_reading_at(text: str, index: int) -> str | None:
    """Return the X reading starting at ``index``, if any.

    A Latin x that is part of a word (``xbox``, ``max``) is not a check
    character, so it must not touch other Latin letters.
    """
    for reading in X_READINGS:
        if not text.startswith(reading, index):
            continue
        if reading.isascii():
            before = text[index - 1] if index > 0 else ""
            after_index = index + len(reading)
            after = text[after_index] if after_index < len(text) else ""
            if (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha()):
                return None
        return reading
    return None


def _build_run(digit_tokens: list[_Token]) -> NumberRun | None:
    """Turn collected digit tokens into a run, or None if they are not a number.

    A lone colloquial digit (两 in 两个, 拐 in 拐弯) is a word, not a digit.
    """
    if not digit_tokens:
        return None
    if len(digit_tokens) == 1 and digit_tokens[0].kind == _WEAK:
        return None
    spans = tuple((t.start, t.end) for t in digit_tokens)
    digits = "".join(t.value for t in digit_tokens)
    return NumberRun(spans[0][0], spans[-1][1], digits, spans)


def _drop_quantifier(current: list[_Token], following: _Token, text: str) -> None:
    """Remove a trailing 一/两 that forms a word with the character after it."""
    if (
        current
        and text[current[-1].start] in QUANTIFIER_DIGITS
        and current[-1].end == following.start
        and text[following.start] in QUANTIFIER_FOLLOWERS
    ):
        current.pop()


def find_number_runs(text: str, min_digits: int = 4) -> list[NumberRun]:
    """Find runs of digits (written or spoken) in a transcript.

    Digits separated only by whitespace, pause punctuation or filler words
    belong to one run.  Runs with fewer than ``min_digits`` digits are left
    out so ordinary words such as 一点, 第一, 一下 or 慢一点 never become
    numbers.  An X reading (叉, 艾克斯, x) ends a run and is only taken when at
    least 16 digits precede it, i.e. where an ID check character can stand.

    Args:
        text: the transcript, exactly as the recogniser wrote it.
        min_digits: shortest run (in characters, X included) to report.

    Returns:
        The runs in text order; offsets refer to ``text``.
    """
    if not text:
        return []
    runs: list[NumberRun] = []
    current: list[_Token] = []

    def close() -> None:
        run = _build_run(current)
        if run is not None and len(run.digits) >= min_digits:
            runs.append(run)
        current.clear()

    for token in _scan(text):
        if token.kind in (_DIGIT, _WEAK):
            current.append(token)
        elif token.kind == _X:
            if len(current) >= _MIN_DIGITS_BEFORE_X:
                current.append(token)
            close()
        elif token.kind == _FILLER:
            # Fillers only bridge digits; they never start or end a run, which
            # is guaranteed because spans are taken from digit tokens only.
            continue
        else:
            _drop_quantifier(current, token, text)
            close()
    close()
    logger.debug("found %d number run(s)", len(runs))  # never the text: it holds ID numbers
    return runs


def normalize_numbers(text: str, min_digits: int = 4) -> str:
    """Return ``text`` with every number run replaced by its plain digits.

    Useful for logging, display and for matching against digit-only patterns;
    short runs (see :func:`find_number_runs`) are left as they were said.
    """
    pieces: list[str] = []
    position = 0
    for run in find_number_runs(text, min_digits=min_digits):
        pieces.append(text[position : run.start])
        pieces.append(run.digits)
        position = run.end
    pieces.append(text[position:])
    return "".join(pieces)
