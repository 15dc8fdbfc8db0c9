"""Masking of personal numbers before text reaches a log.

Users give their resident ID number and phone number to the assistant (to book a
service, to be called back). Logs are read by operators and kept for a long time, so
those numbers must never be written in full. Numbers spoken as Chinese words (e.g.
"幺三八…" from speech recognition) are found with the same reader the Rasa pipeline uses
(`nlu.numbers`, plain Python) and masked too.
"""

from __future__ import annotations

import re

from nlu.id_card import mask_id_number, mask_phone_number
from nlu.numbers import find_number_runs

# A spoken run this long is personal enough to hide (IDs are 18, phones 11).
_SPOKEN_MIN_DIGITS = 7
_WRITTEN_DIGITS = re.compile(r"[0-9０-９Xx*\s,，.、-]+")

# 18-character resident ID: 6-digit area, 8-digit birth date, 3-digit sequence and a
# check character that may be X. A single space, dash or comma between those groups is
# tolerated because people and speech recognisers write them that way, and the bot's own
# read-back says the number in groups ("110105，19491001，0031"). The look-arounds
# stop us from masking a slice of a longer digit run (that is some other number).
_ID_NUMBER = re.compile(
    r"(?<![0-9])([0-9]{6})[ ,，、-]?[0-9]{8}[ ,，、-]?([0-9]{3}[0-9Xx])(?![0-9])",
)

# Any standalone 11-digit number (mobile numbers, but also landlines written with their
# area code: over-masking a log is cheaper than leaking), optionally with the +86 / 86
# country code and 3-4-4 grouping.
_PHONE_NUMBER = re.compile(
    r"(?<![0-9])(?:\+?86[ -]?)?([0-9]{3})[ -]?[0-9]{4}[ -]?([0-9]{4})(?![0-9])",
)

# Numbers written in groups the two patterns above do not expect: an ID typed as
# "440106 1957 0813 9875", a phone as "138，0013，8000", a bank card in fours. Any run of
# 11+ digits in 2+ digit groups is hidden; a list of room numbers or dates may go with
# it, which is the cheaper mistake.
_GROUPED_DIGITS = re.compile(r"(?<![0-9])[0-9]{2,}(?:[，,、 -][0-9]{2,}){1,5}(?![0-9Xx])[Xx]?")
_GROUP_SEPARATORS = re.compile(r"[，,、 -]")
_GROUPED_MIN_DIGITS = 11


def mask_pii(text: str) -> str:
    """Return `text` with ID numbers as ``110105********0031`` and phones as ``138****5678``.

    IDs are masked first: an ID contains 11-digit stretches, and masking it first keeps
    the phone pattern from seeing them. Other groupings go last, on whatever is left.
    """
    masked = _ID_NUMBER.sub(r"\1********\2", text)
    masked = _PHONE_NUMBER.sub(r"\1****\2", masked)
    masked = _mask_spoken_numbers(masked)
    return _GROUPED_DIGITS.sub(_mask_grouped, masked)


def _mask_grouped(match: re.Match[str]) -> str:
    """Joined up, so the masked form looks like the ID or phone it probably is."""
    digits = _GROUP_SEPARATORS.sub("", match.group())
    if len(digits) < _GROUPED_MIN_DIGITS:
        return match.group()  # a short grouped number (a date, a price) is not personal
    # ID-length runs (15-digit old IDs too) keep the area code, shorter ones a phone's head.
    keep_head, keep_tail = (6, 4) if len(digits) >= 15 else (3, 4)
    return digits[:keep_head] + "*" * (len(digits) - keep_head - keep_tail) + digits[-keep_tail:]


def _mask_spoken(digits: str) -> str:
    if len(digits) == 18:
        return mask_id_number(digits)
    if len(digits) == 11:
        return mask_phone_number(digits)
    return "*" * (len(digits) - 2) + digits[-2:]


def _mask_spoken_numbers(text: str) -> str:
    """Mask "幺幺零幺零五…" style runs; the masked form is written in ASCII digits."""
    runs = find_number_runs(text, min_digits=_SPOKEN_MIN_DIGITS)
    for run in reversed(runs):  # right to left keeps earlier offsets valid
        if _WRITTEN_DIGITS.fullmatch(text[run.start : run.end]):
            continue  # written digits: the patterns above decide, so other numbers stay
        text = text[: run.start] + _mask_spoken(run.digits) + text[run.end :]
    return text
