"""Every sentence the handoff code says to a user, in one place.

Rules (a test enforces the length): plain Chinese an 80-year-old understands when a TTS
voice reads it once; at most 36 characters per sentence; numbers as digits, so a screen
reader and the kiosk voice read them the same way; no jargon ("队列", "坐席").
"""

from __future__ import annotations

import math
from typing import Any

from bot.messages import Button

MAX_SENTENCE_CHARS = 36

# Said in the same turn as the bot's "我帮您转给工作人员" reply.
QUEUED = "您排在第{position}位，{wait}。"
# Pushed when the position changes while the user waits.
POSITION_CHANGED = "您现在排在第{position}位，{wait}。"
NEXT_IN_LINE = "下一位就是您，工作人员马上来。"
CANCEL_HINT = "不想等了，可以说“取消”。"
# The answer to a message written while waiting: it is kept and shown to the agent.
WAITING_ACK = "您说的话工作人员都能看到。您排在第{position}位。"

CANCELLED = "好的，已经不排队了。有事可以直接问我。"
AGENT_JOINED = "工作人员来了，请您说。"
HANDED_BACK = "已回到智能助手。有事请直接对我说。"
CLOSED = "工作人员已结束对话。有事可以再找我。"

CALLBACK_OFFER = "让您久等了。要工作人员给您回电话吗？请说手机号。不用就说“不用”，位置不变。"
CALLBACK_SAVED = "记下了，号码是{phone}。工作人员会打给您，位置不变。"
CALLBACK_WRONG_LENGTH = "手机号是11位，我听到的是{count}位。请再说一遍。"
CALLBACK_DECLINED = "好的，您接着等，位置不变。"
CALLBACK_ASK_NUMBER = "好的，请说您的手机号，一共11位。"

# Buttons for screen-reader and kiosk users; the payload is what they would have said.
CANCEL_BUTTON = Button(title="取消排队", payload="取消")
DECLINE_CALLBACK_BUTTON = Button(title="不用回电话", payload="不用")


def wait_phrase(wait_s: float) -> str:
    """An estimated wait in whole minutes, rounded up, never "0 分钟"."""
    minutes = max(1, math.ceil(wait_s / 60))
    return f"大约等{minutes}分钟"


def queue_position(position: int, wait_s: float, *, first_notice: bool) -> str:
    """Where the user stands: in the handoff turn and on every later change."""
    if position <= 1 and not first_notice:
        return NEXT_IN_LINE
    template = QUEUED if first_notice else POSITION_CHANGED
    return template.format(position=position, wait=wait_phrase(wait_s)) + CANCEL_HINT


def queue_custom(position: int, wait_s: float) -> dict[str, Any]:
    """The place in machine form, next to the sentence: channels show it (the kiosk's
    ``queue`` message, the web chat's status line) without parsing Chinese."""
    return {"queue": {"position": position, "eta_s": round(wait_s)}}


def spoken_phone(phone: str) -> str:
    """11 digits grouped 3-4-4, the way people read a number back to check it."""
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
