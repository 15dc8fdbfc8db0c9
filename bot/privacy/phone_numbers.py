"""Reading a call-back phone number from what a waiting user typed or said.

Spoken numbers arrive from the recogniser as Chinese characters (幺三八 …, with pauses
and filler words); `nlu.numbers` reads them the same way the Rasa pipeline does, so the
kiosk, the bot and the gateway agree on what a user's digits were.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlu.numbers import find_number_runs

PHONE_DIGITS = 11
# Shorter runs are ordinary numbers ("等了5分钟"), not an attempt at a phone number.
_MIN_RUN_DIGITS = 5
_COUNTRY_CODE = "86"


@dataclass(frozen=True)
class PhoneAnswer:
    """What the user's message says about a phone number.

    ``phone`` is set when exactly 11 digits were given; otherwise ``digit_count`` tells
    how many digits there were (0: the message is not about a number at all).
    """

    phone: str | None
    digit_count: int


def read_phone_number(text: str) -> PhoneAnswer:
    """Find an 11-digit phone number, written or spoken, tolerating +86 and pauses."""
    runs = [run.digits for run in find_number_runs(text, min_digits=_MIN_RUN_DIGITS)]
    candidates = [*runs, "".join(runs)]
    for digits in candidates:
        if len(digits) == PHONE_DIGITS + len(_COUNTRY_CODE) and digits.startswith(_COUNTRY_CODE):
            digits = digits[len(_COUNTRY_CODE) :]
        if len(digits) == PHONE_DIGITS and digits.isdigit():
            return PhoneAnswer(phone=digits, digit_count=PHONE_DIGITS)
    return PhoneAnswer(phone=None, digit_count=len(candidates[-1]))
