"""Find ID numbers and mobile numbers in a transcript, Rasa-independent.

This is the logic behind ``IdNumberExtractor`` and ``PhoneNumberExtractor``
(``nlu/extractors.py``), kept free of Rasa so the voice gateway can run the
same recognition (e.g. to mask numbers before logging a transcript) and so it
can be tested quickly.

How a run of digits is read:

* A whole run of 17-19 characters is an ID attempt: ``id_number`` if it passes
  :func:`nlu.id_card.validate_id_number`, otherwise ``id_number_invalid`` with
  the problem code.  It is never split into a phone number.
* A whole run of 11 digits matching ``1[3-9]\\d{9}`` is a ``phone_number``.
* Any other run is split at the speaker's pauses (fillers, spaces, commas), so
  "ID, phone" said in one breath still yields both.  The split that explains
  the most (valid IDs over phone numbers over ID attempts) wins; pieces that
  are none of these are ignored.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass

from nlu.id_card import ID_LENGTH, validate_id_number
from nlu.numbers import NumberRun, find_number_runs

logger = logging.getLogger(__name__)

ID_NUMBER = "id_number"
ID_NUMBER_INVALID = "id_number_invalid"
PHONE_NUMBER = "phone_number"

PHONE_LENGTH = 11
#: Lengths that look like someone tried to say an 18-character ID.
ID_ATTEMPT_LENGTHS = range(ID_LENGTH - 1, ID_LENGTH + 2)
_PHONE = re.compile(r"1[3-9][0-9]{9}")

# Preference when a long run has to be split: a checked ID is the strongest
# evidence, a well-formed phone number next, an ID attempt is still worth
# reporting (so the bot can ask again) but must not beat a real reading.
_SCORES = {ID_NUMBER: 4, PHONE_NUMBER: 3, ID_NUMBER_INVALID: 1}


@dataclass(frozen=True)
class NumberEntity:
    """One recognised number: entity type, span in the original text, value.

    ``problem`` is set only for ``id_number_invalid`` (see ``IdProblem``).
    """

    entity: str
    start: int
    end: int
    value: str
    problem: str | None = None


def classify_digits(
    digits: str, today: datetime.date | None = None
) -> tuple[str, str | None] | None:
    """Say what a normalised digit string is: ``(entity, problem)`` or ``None``."""
    if len(digits) in ID_ATTEMPT_LENGTHS:
        problem = validate_id_number(digits, today=today)
        if problem is None:
            return ID_NUMBER, None
        return ID_NUMBER_INVALID, problem.value
    if _PHONE.fullmatch(digits):
        return PHONE_NUMBER, None
    return None


def _entity(run: NumberRun, kind: tuple[str, str | None]) -> NumberEntity:
    return NumberEntity(kind[0], run.start, run.end, run.digits, kind[1])


def _split_at_pauses(run: NumberRun, today: datetime.date | None) -> list[NumberEntity]:
    """Best reading of a run as consecutive pieces cut at the speaker's pauses.

    Dynamic programming over the pause positions; runs have at most a few
    dozen digits and a handful of pauses, so the quadratic cost is nothing.
    """
    cuts = [0, *run.pause_indices(), len(run.digits)]
    # best[k] = (score, entities) for the digits before cuts[k]
    best: list[tuple[int, list[NumberEntity]]] = [(0, [])]
    for j in range(1, len(cuts)):
        candidate: tuple[int, list[NumberEntity]] = (-1, [])
        for i in range(j):
            piece = run.sub_run(cuts[i], cuts[j])
            kind = classify_digits(piece.digits, today=today)
            score, entities = best[i]
            if kind is not None:
                score += _SCORES[kind[0]]
                entities = [*entities, _entity(piece, kind)]
            if score > candidate[0]:
                candidate = (score, entities)
        best.append(candidate)
    return best[-1][1]


def find_number_entities(text: str, today: datetime.date | None = None) -> list[NumberEntity]:
    """Find ID numbers, ID attempts and mobile numbers in ``text``.

    Args:
        text: the transcript exactly as recognised; offsets refer to it.
        today: reference date for the ID birth-date check (tests).

    Returns:
        Entities in text order.
    """
    found: list[NumberEntity] = []
    for run in find_number_runs(text, min_digits=PHONE_LENGTH):
        kind = classify_digits(run.digits, today=today)
        if kind is not None:
            found.append(_entity(run, kind))
        else:
            found.extend(_split_at_pauses(run, today))
    logger.debug("Number entities in %r: %s", text, found)
    return found
