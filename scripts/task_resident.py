"""A simulated resident: answers what the bot asks, the way its persona would.

The bot's question is recognised from a few words of its reply (``CUES``, one table, so
a rewording elsewhere touches one line here); what the resident answers comes from the
persona (``scripts.task_personas``). Whether the task is done is recognised the same way
(``SUCCESS``). Nothing here talks to the network: the runner (``scripts.bench_tasks``)
passes the replies in and sends the answers out.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Sequence

from nlu.id_card import mask_id_number
from scripts.task_personas import (
    NO_HUMAN,
    YES,
    Persona,
    Task,
    Utterance,
    correction,
)


class Cue(str, enum.Enum):  # noqa: UP042 - runs in the engine env (Python 3.10: no StrEnum)
    READBACK = "readback"  # 我听到的号码是…对吗
    NAME_CONFIRM = "name_confirm"  # 登记的名字是…对吗
    OFFER_HUMAN = "offer_human"  # 要不要转人工
    ASK_NAME = "ask_name"
    ASK_ID = "ask_id"
    ASK_DISTRICT = "ask_district"
    ASK_SERVICE = "ask_service"  # 您要办哪一项 / 您问的是A，还是B？
    NOT_HEARD = "not_heard"  # 没听清: say the last answer again
    ASK_TASK = "ask_task"  # 您要办什么事 / 还有别的事吗: say what you came for


#: The words that show what the bot asks, first match wins (a re-ask of the name starts
#: with 没听清, so the name comes before "not heard"; the offer of a human before both).
CUES: tuple[tuple[Cue, tuple[str, ...]], ...] = (
    (Cue.READBACK, ("我听到的号码是",)),
    (Cue.NAME_CONFIRM, ("登记的名字是",)),
    (Cue.OFFER_HUMAN, ("要不要转人工", "要转人工吗")),
    (Cue.ASK_NAME, ("您的姓名", "您的名字", "只说姓名")),
    (Cue.ASK_ID, ("身份证号",)),
    (Cue.ASK_DISTRICT, ("哪个区", "另一个区")),
    (Cue.ASK_SERVICE, ("哪一项", "您问的是")),
    (Cue.NOT_HEARD, ("没听清", "没听明白", "没太听明白", "再说一遍")),
    (Cue.ASK_TASK, ("办什么", "别的事")),
)
#: A reply that says the task is done (authentication, status question).
SUCCESS: dict[Task, tuple[str, ...]] = {
    Task.AUTH: ("认证成功", "已经认证过了"),
    Task.STATUS: ("已经认证", "还没有认证", "过期了"),
}
#: When the bot does not understand and offers buttons ("您是想办下面哪件事？"), the
#: resident picks the one whose title has a word of its task, and says that title.
TASK_BUTTON_WORDS: dict[Task, tuple[str, ...]] = {
    Task.AUTH: ("资格认证", "认证"),
    Task.STATUS: ("认证结果", "认证"),
    Task.SERVICE: ("办事指南",),
    Task.CENTER: ("服务中心",),
}
#: A question offering several services names them without answering.
CHOICE_WORDS = ("您问的是",)
_ID_LIKE = re.compile(r"(?:[0-9][，,、\s]*){17}[0-9Xx]")


def mask_ids(text: str) -> str:
    """``text`` with every 18-character ID number (grouped or not) masked."""
    return _ID_LIKE.sub(lambda m: mask_id_number(re.sub(r"[^0-9Xx]", "", m.group())), text)


def cue_of(texts: Sequence[str]) -> Cue | None:
    """The bot's question in this turn: the last reply that has one decides."""
    for text in reversed(texts):
        for cue, words in CUES:
            if any(word in text for word in words):
                return cue
    return None


def task_done(persona: Persona, texts: Sequence[str]) -> bool:
    """Whether this turn's replies complete the persona's task."""
    if persona.task in SUCCESS:
        return any(word in text for text in texts for word in SUCCESS[persona.task])
    if persona.task is Task.CENTER:
        return persona.center_name is not None and any(persona.center_name in t for t in texts)
    service = persona.service
    if service is None:
        return False
    return any(
        evidence in text
        for text in texts
        if not any(word in text for word in CHOICE_WORDS)
        for evidence in service.evidence
    )


class SimulatedResident:
    """One persona in one conversation: ``start()``, then ``respond(replies)`` each turn."""

    def __init__(self, persona: Persona) -> None:
        self.persona = persona
        self.pending: Cue | None = None  # the last question asked
        self.asked: Counter[Cue] = Counter()
        self.answers = 0
        self.human_offered = False
        self.said_wrong_id = False
        self._command_said = persona.command is None
        self._noise_said = persona.noise_within is None

    def start(self) -> Utterance:
        return _plain(self.persona.noise_before or self.persona.opening)

    def respond(self, texts: Sequence[str], buttons: Sequence[str] = ()) -> Utterance:
        """The answer to this turn's replies; ``buttons`` are the titles of their buttons."""
        cue = cue_of(texts)
        if cue is Cue.OFFER_HUMAN:
            self.human_offered = True
            return _plain(NO_HUMAN)
        if cue in (Cue.NOT_HEARD, None) and (picked := self._pick(buttons)):
            return _plain(picked)
        if cue in (Cue.NOT_HEARD, None):
            cue = self.pending
        if cue in (Cue.ASK_TASK, None):
            self.pending = None
            return _plain(self.persona.opening)
        self.pending = cue
        if not self._command_said and self.persona.command is not None:
            self._command_said = True
            return _plain(self.persona.command)
        if not self._noise_said and self.answers >= 1 and self.persona.noise_within is not None:
            self._noise_said = True
            return _plain(self.persona.noise_within)
        self.answers += 1
        self.asked[cue] += 1
        return self._answer(cue, texts)

    def _pick(self, buttons: Sequence[str]) -> str | None:
        words = TASK_BUTTON_WORDS[self.persona.task]
        return next((b for w in words for b in buttons if w in b), None)

    def _answer(self, cue: Cue, texts: Sequence[str]) -> Utterance:
        persona = self.persona
        if cue is Cue.ASK_NAME:
            first = self.asked[cue] == 1
            return _plain(persona.first_name_answer if first else persona.heard_name)
        if cue is Cue.ASK_ID:
            if persona.wrong_id_answer is not None and not self.said_wrong_id:
                self.said_wrong_id = True
                return persona.wrong_id_answer
            return persona.id_answer
        if cue is Cue.READBACK:
            heard = _read_back(texts)
            right = heard == persona.id_number if heard else not self._last_id_was_wrong()
            return _plain(YES) if right else correction(persona.id_answer)
        if cue is Cue.NAME_CONFIRM:
            registered = next((t for t in reversed(texts) if "登记的名字是" in t), "")
            return _plain(YES if persona.resident_name in registered else "不对")
        if cue is Cue.ASK_DISTRICT:
            return _plain(persona.district_answer or persona.district)
        # Cue.ASK_SERVICE: the right name if it is among the choices, else the words again.
        service = persona.service
        if service is not None and any(service.name in t for t in texts):
            return _plain(service.name)
        return _plain(persona.opening)

    def _last_id_was_wrong(self) -> bool:
        return self.said_wrong_id and self.asked[Cue.READBACK] == 1


def _read_back(texts: Sequence[str]) -> str | None:
    """The ID number in the read-back question, if it is written in digits."""
    for text in reversed(texts):
        if "我听到的号码是" in text:
            digits = re.sub(r"[^0-9X]", "", text.split("我听到的号码是", 1)[1].upper())
            return digits if len(digits) == 18 else None
    return None


def _plain(text: str) -> Utterance:
    return Utterance(text, mask_ids(text))
