"""Wording helpers: dates and names the way they are read aloud."""

from __future__ import annotations

import re
from datetime import date

_NAME_PREFIXES = re.compile(r"^(我的名字叫|我的名字是|名字叫|名字是|姓名是|我叫|俺叫|我是|俺是|叫)")
_FILLERS = re.compile(r"(嗯|呃|啊|那个|就是|这个|呀|哦|吧|的|[\s，。,.!！?？、])")
_HAN_NAME = re.compile(r"[\u4e00-\u9fff·]{2,5}")


def spoken_date(value: date) -> str:
    """``2026年11月28日``: read naturally by a Mandarin TTS voice."""
    return f"{value.year}年{value.month}月{value.day}日"


def clean_person_name(text: str) -> str | None:
    """The bare name in "嗯 我叫王桂兰呀", or None when the answer does not look like a name."""
    candidate = _FILLERS.sub("", text.strip())
    candidate = _NAME_PREFIXES.sub("", candidate)
    return candidate if _HAN_NAME.fullmatch(candidate) else None
