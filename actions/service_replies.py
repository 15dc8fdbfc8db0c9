"""What the service actions say, built from the catalogue and read aloud.

Elderly users at the kiosk hear the reply once, at a calm pace; screen-reader users hear
it the same way. So every reply keeps the limits of the domain's responses
(tests/engine/test_domain_replies.py): sentences of at most 36 characters, replies of at
most 70, at most one question, no markup. A template that would break them with a long
catalogue entry falls back to a shorter variant, and lists are read at most three items
at a time (fewer when three would not fit), the rest offered with "要继续听吗？".

The offer is kept in the ``service_offer`` slot as ``Offer.encode()`` so that a "yes"
(``action_answer_yes_no`` → ``action_service_more``) reads the next part.
"""

from __future__ import annotations

import enum
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import cn2an

from actions.catalogue import Service, ServiceCenter

logger = logging.getLogger(__name__)

MAX_SENTENCE_CHARS = 36  # about one breath of Mandarin at a calm pace
MAX_REPLY_CHARS = 70
MAX_SPOKEN_ITEMS = 3
_SENTENCE_END = re.compile(r"(?<=[。！？])")


class Aspect(str, enum.Enum):
    """The part of a service a user asks about."""

    MATERIALS = "materials"
    STEPS = "steps"
    WHERE = "where"
    HOURS = "hours"
    PHONE = "phone"
    FEE = "fee"
    ELIGIBILITY = "eligibility"
    ONLINE = "online"


#: Aspects that are lists, with the measure word used to count what is left.
LIST_UNITS: dict[Aspect, str] = {Aspect.MATERIALS: "样", Aspect.STEPS: "步"}

ANYTHING_ELSE = "还有别的事吗？"
MORE_LEFT = "还有{count}{unit}，要继续听吗？"
OFFER_STEPS = "要听办理步骤吗？"
NO_OFFER = "好的。您要办什么事？"
NOT_FOUND = "没找到这项服务。您要办哪一项？比如“{example}”。"
NOT_FOUND_EXAMPLE = "高龄津贴"

# Each entry: the preferred wording first, then shorter fallbacks for long catalogue text.
SUMMARY: tuple[str, ...] = (
    "{name}在{where}办理，要带{materials}。",
    "{name}在{where}办理。要带{materials}。",
    "{name}在{where}办理。要带{count}样材料。",
)
SINGLE: dict[str, tuple[str, ...]] = {
    Aspect.WHERE.value: ("{name}在{where}办理。", "在{where}办理。"),
    Aspect.HOURS.value: ("{name}的办理时间是{hours}。", "办理时间是{hours}。"),
    Aspect.PHONE.value: ("{name}可以打{phone}咨询。", "咨询电话是{phone}。"),
    Aspect.FEE.value: ("{name}{fee}。", "这项服务{fee}。"),
    Aspect.ELIGIBILITY.value: ("{name}的条件是：{eligibility}。", "条件是：{eligibility}。"),
    Aspect.ONLINE.value: ("{name}也能在{online}上办。", "也能在{online}上办。"),
    "offline": ("{name}要到{where}当面办理。", "要到{where}当面办理。"),
}
MATERIALS_ALL = "{name}要带{items}。"
MATERIALS_FIRST = "{name}要带{count}样材料。先说{shown}样：{items}。"
MATERIALS_NEXT = "还要带{items}。"
STEPS_INTRO = "{name}一共{count}步。"
STEP = "{ordinal}，{step}。"
MATERIALS_SOME = "{first}、{second}等{count}样材料"
CHOICE: dict[int, str] = {
    3: "您问的是{0}、{1}，还是{2}？",
    2: "您问的是{0}，还是{1}？",
    1: "您问的是{0}吗？",
}
CENTER_PLACE = "{name}在{address}。{hours}开门，电话{phone}。"
CENTER_ACCESS = "那里有{items}。"
CENTER_ACCESS_MORE = "还有{items}。"
CENTER_ACCESS_SOME = "那里有{items}等{count}项无障碍设施。"
CENTER_NOT_FOUND = "这个区我还没有服务中心的信息。请说另一个区，或者说“转人工”。"


@dataclass(frozen=True)
class Offer:
    """What the last answer offered to read next: a list of one service from ``start``."""

    aspect: Aspect
    start: int
    service_id: str

    def encode(self) -> str:
        """The slot value, e.g. ``steps:0:elderly_allowance``."""
        return f"{self.aspect.value}:{self.start}:{self.service_id}"

    @classmethod
    def parse(cls, value: object) -> Offer | None:
        """The offer in a slot value, or None when there is none (or it is malformed)."""
        parts = str(value or "").split(":")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2]:
            return None
        try:
            aspect = Aspect(parts[0])
        except ValueError:
            return None
        return cls(aspect, int(parts[1]), parts[2]) if aspect in LIST_UNITS else None


@dataclass(frozen=True)
class Reply:
    """A reply's text and what it offers to read next, if anything."""

    text: str
    offer: Offer | None = None


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s]


def is_speakable(text: str) -> bool:
    """Within the limits of a reply read aloud: short sentences, short reply, one question."""
    return (
        len(text) <= MAX_REPLY_CHARS
        and text.count("？") <= 1
        and all(len(s) <= MAX_SENTENCE_CHARS for s in sentences(text))
    )


def spoken_list(items: Sequence[str]) -> str:
    """Up to three items as said aloud: "身份证、户口本和银行卡"."""
    head = list(items[:MAX_SPOKEN_ITEMS])
    if len(head) <= 1:
        return "".join(head)
    return "、".join(head[:-1]) + "和" + head[-1]


def _first_speakable(candidates: Sequence[str]) -> str:
    for text in candidates:
        if is_speakable(text):
            return text
    logger.warning("No wording fits the spoken limits, using the shortest: %r", candidates)
    return min(candidates, key=len)


def _fields(service: Service) -> dict[str, str]:
    return {
        "name": service.name,
        "where": service.where,
        "hours": service.hours,
        "phone": service.phone,
        "fee": service.fee,
        "eligibility": service.eligibility,
        "online": service.online or "",
    }


def _tail(remaining: int, unit: str) -> str:
    return MORE_LEFT.format(count=remaining, unit=unit) if remaining else ANYTHING_ELSE


def summary_reply(service: Service) -> Reply:
    """Where to go and what to bring, in one sentence, then the offer of the steps."""
    materials = service.materials
    if len(materials) <= MAX_SPOKEN_ITEMS:
        listed = spoken_list(materials)
    else:
        listed = MATERIALS_SOME.format(
            first=materials[0], second=materials[1], count=len(materials)
        )
    fields = {**_fields(service), "materials": listed, "count": str(len(materials))}
    said = _first_speakable([t.format(**fields) + OFFER_STEPS for t in SUMMARY])
    return Reply(said, Offer(Aspect.STEPS, 0, service.id))


def _list_text(service: Service, aspect: Aspect, start: int, shown: int) -> str:
    items = service.materials if aspect is Aspect.MATERIALS else service.steps
    chunk = items[start : start + shown]
    remaining = len(items) - start - shown
    if aspect is Aspect.MATERIALS:
        if start == 0 and remaining == 0:
            body = MATERIALS_ALL.format(name=service.name, items=spoken_list(chunk))
        elif start == 0:
            body = MATERIALS_FIRST.format(
                name=service.name, count=len(items), shown=shown, items=spoken_list(chunk)
            )
        else:
            body = MATERIALS_NEXT.format(items=spoken_list(chunk))
    else:
        intro = STEPS_INTRO.format(name=service.name, count=len(items)) if start == 0 else ""
        body = intro + "".join(
            STEP.format(ordinal=f"第{cn2an.an2cn(number)}步", step=step)
            for number, step in enumerate(chunk, start=start + 1)
        )
    return body + _tail(remaining, LIST_UNITS[aspect])


def list_reply(service: Service, aspect: Aspect, start: int = 0) -> Reply:
    """The next part of a list (materials or steps), at most three items, from ``start``."""
    items = service.materials if aspect is Aspect.MATERIALS else service.steps
    start = min(max(start, 0), len(items) - 1)
    most = min(MAX_SPOKEN_ITEMS, len(items) - start)
    texts = [(shown, _list_text(service, aspect, start, shown)) for shown in range(most, 0, -1)]
    shown, text = next(((n, t) for n, t in texts if is_speakable(t)), texts[-1])
    end = start + shown
    return Reply(text, Offer(aspect, end, service.id) if end < len(items) else None)


def aspect_reply(service: Service, aspect: Aspect) -> Reply:
    """The answer to one question about a service (its materials, its hours …)."""
    if aspect in LIST_UNITS:
        return list_reply(service, aspect, 0)
    key = aspect.value if aspect is not Aspect.ONLINE or service.online else "offline"
    said = _first_speakable([t.format(**_fields(service)) + ANYTHING_ELSE for t in SINGLE[key]])
    return Reply(said)


def choice_question(names: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """Which of these did you mean? Three names if they fit in one breath, else fewer."""
    for count in range(min(len(names), MAX_SPOKEN_ITEMS), 0, -1):
        text = CHOICE[count].format(*names[:count])
        if is_speakable(text) or count == 1:
            return text, tuple(names[:count])
    raise ValueError("choice_question needs at least one name")


def choice_buttons(names: Sequence[str]) -> list[dict[str, str]]:
    """One button per name; pressing it answers the form as if the name had been said."""
    return [
        {"title": name, "payload": "/inform" + json.dumps({"service": name}, ensure_ascii=False)}
        for name in names
    ]


def not_found(example: str = NOT_FOUND_EXAMPLE) -> str:
    return NOT_FOUND.format(example=example)


def center_replies(center: ServiceCenter) -> list[str]:
    """Where the centre is, when it opens; then, separately, how accessible it is."""
    said = [
        CENTER_PLACE.format(
            name=center.name, address=center.address, hours=center.hours, phone=center.phone
        )
    ]
    access = center.access
    if access:
        chunks = [access[i : i + MAX_SPOKEN_ITEMS] for i in range(0, len(access), MAX_SPOKEN_ITEMS)]
        everything = CENTER_ACCESS.format(items=spoken_list(chunks[0])) + "".join(
            CENTER_ACCESS_MORE.format(items=spoken_list(chunk)) for chunk in chunks[1:]
        )
        some = [
            CENTER_ACCESS_SOME.format(items="、".join(access[:shown]), count=len(access))
            for shown in range(min(MAX_SPOKEN_ITEMS, len(access) - 1), 0, -1)
        ]
        said.append(_first_speakable([everything, *some]))
    return said
