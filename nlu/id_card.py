"""Chinese resident ID numbers (GB 11643-1999) and masking of personal numbers.

The bot must never accept a mis-heard ID number: one wrong digit from the
recogniser would attach an elderly person's request to someone else.  The
standard's check character catches almost all single-digit errors, and the
embedded birth date catches many more, so every ID is validated before use.

Shared with the action server and the voice gateway, so it is dependency-free
(standard library only) and has no Rasa import.
"""

from __future__ import annotations

import datetime
import enum
import logging
import re

logger = logging.getLogger(__name__)

ID_LENGTH = 18
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)

_FIRST17 = re.compile(r"[0-9]{17}")
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


class IdProblem(str, enum.Enum):
    """Why an ID number was rejected; the value is the code the bot sees.

    A ``str`` enum so it can go straight into entity dicts, slots and JSON.
    """

    LENGTH = "length"  # not 18 characters
    FORMAT = "format"  # 18 characters but not 17 digits + digit/X
    BIRTH_DATE = "birth_date"  # characters 7-14 are not a plausible birth date
    CHECKSUM = "checksum"  # check character does not match the first 17


def _clean(value: str) -> str:
    """Uppercase the check character and drop spaces a user or form may add."""
    return "".join(value.split()).upper()


def id_check_char(first17: str) -> str:
    """Compute the GB 11643-1999 check character for the first 17 digits.

    Raises:
        ValueError: if ``first17`` is not exactly 17 ASCII digits.
    """
    if not _FIRST17.fullmatch(first17):
        raise ValueError(f"expected 17 digits, got {len(first17)} characters")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def birth_date_of(id_number: str) -> datetime.date:
    """Return the birth date encoded in characters 7-14 (YYYYMMDD).

    Raises:
        ValueError: if the ID is too short or the date does not exist.
    """
    cleaned = _clean(id_number)
    if len(cleaned) < 14 or not cleaned[6:14].isdigit():
        raise ValueError("ID number has no birth date part")
    return datetime.datetime.strptime(cleaned[6:14], "%Y%m%d").date()


def validate_id_number(value: str, today: datetime.date | None = None) -> IdProblem | None:
    """Check an ID number; return ``None`` if it is valid, else the problem.

    Checks run from the most to the least explainable, so the bot can say the
    most helpful thing ("the number is too short" before "a digit is wrong"):
    length, format, birth date (a real date from 1900-01-01 up to ``today``),
    then the check character.

    Args:
        value: the ID number; a lowercase x and spaces are tolerated.
        today: reference date for the "not in the future" check (tests).
    """
    cleaned = _clean(value)
    if len(cleaned) != ID_LENGTH:
        return IdProblem.LENGTH
    if not _ID_SHAPE.fullmatch(cleaned):
        return IdProblem.FORMAT
    try:
        born = birth_date_of(cleaned)
    except ValueError:
        return IdProblem.BIRTH_DATE
    if not EARLIEST_BIRTH_DATE <= born <= (today or datetime.date.today()):
        return IdProblem.BIRTH_DATE
    if id_check_char(cleaned[:17]) != cleaned[17]:
        return IdProblem.CHECKSUM
    return None


def is_valid_id_number(value: str, today: datetime.date | None = None) -> bool:
    """Convenience wrapper: ``True`` when :func:`validate_id_number` finds nothing."""
    return validate_id_number(value, today=today) is None


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    """Star out the middle of ``value``; mask everything if it is too short.

    Short values are fully masked so that a truncated number never leaks
    more than a complete one would.
    """
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    middle = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * middle + value[len(value) - keep_end :]


def mask_id_number(id_number: str) -> str:
    """Mask an ID number for logs and screens: ``110105********0031``.

    The area code (first 6) and last 4 are what staff use to confirm identity
    aloud; the birth date and sequence number stay hidden.
    """
    return _mask(_clean(id_number), 6, 4)


def mask_phone_number(phone_number: str) -> str:
    """Mask a mobile number the usual Chinese way: ``138****5678``."""
    return _mask("".join(phone_number.split()), 3, 4)
