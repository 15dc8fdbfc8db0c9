"""Reading an ID number back in groups, and correcting one group.

People check a long number in the chunks it is made of: area code (6), birth date (8)
and the rest (4). Reading it back that way, never as one 18-digit run, lets a listener
catch a misheard digit, and lets them correct just the chunk that is wrong.
"""

from __future__ import annotations

from enum import Enum

from nlu.id_card import validate_id_number
from nlu.numbers import find_number_runs


class Group(Enum):
    AREA = (0, 6)
    BIRTH_DATE = (6, 14)
    REST = (14, 18)

    @property
    def length(self) -> int:
        start, end = self.value
        return end - start


# Words a user may use to say which group they are correcting.
_HINTS: dict[Group, tuple[str, ...]] = {
    Group.AREA: ("前六位", "前面", "开头", "地区"),
    Group.BIRTH_DATE: ("出生", "生日", "日期", "中间"),
    Group.REST: ("后四位", "最后", "后面", "末尾"),
}


def readback(id_number: str) -> str:
    """``110105，19491001，0031``: three chunks a listener can check one at a time."""
    return "，".join(id_number[slice(*group.value)] for group in Group)


def _group_for(digits: str, text: str) -> Group | None:
    hinted = [g for g, words in _HINTS.items() if any(w in text for w in words)]
    candidates = hinted or list(Group)
    matching = [g for g in candidates if g.length == len(digits)]
    return matching[0] if len(matching) == 1 else None


def correct_group(id_number: str, text: str) -> str | None:
    """The ID with one group replaced by the digits said in ``text``, if that is what they are.

    Returns None when the text holds no group-sized number (the caller then treats it as
    a plain yes or no).
    """
    for run in find_number_runs(text):
        group = _group_for(run.digits, text)
        if group is not None:
            start, end = group.value
            return id_number[:start] + run.digits + id_number[end:]
    return None


def is_valid(id_number: str) -> bool:
    return validate_id_number(id_number) is None
