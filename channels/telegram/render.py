"""Bot replies as Telegram messages: pure functions, no network, unit-tested on their own.

- One `BotReply` becomes one or more text messages (Telegram refuses texts over 4096
  characters, so longer ones are split at line or sentence ends); its ``buttons`` become
  an inline keyboard on the last piece, one button per row (large targets, easy to hit for
  shaky hands and screen readers alike).
- A button's ``payload`` travels in ``callback_data``, which Telegram limits to 64 bytes.
  Longer payloads are kept in a small `PayloadBook` and the button carries a key to it;
  a key the book no longer knows (after a restart) falls back to the button's title,
  which the user sees and the assistant understands too.
- Plain text only (no parse mode): a reply containing ``<`` or ``*`` is never mangled.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages import BotReply, Button

MAX_TEXT = 4096  # characters Telegram accepts in one message
MAX_CALLBACK_BYTES = 64
KEY_PREFIX = "k:"  # a payload kept in the book
TITLE_PREFIX = "t:"  # no payload: the title is what the user "says"
_BREAKS = ("\n", "。", "！", "？", "；", "，", " ")


@dataclass(frozen=True, slots=True)
class OutgoingText:
    """One ``sendMessage``: its text and, for the last piece of a reply, the keyboard."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


class PayloadBook:
    """Button payloads too long for ``callback_data``, by a short stable key (bounded LRU)."""

    def __init__(self, capacity: int = 2048) -> None:
        self._capacity = capacity
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def key_for(self, payload: str) -> str:
        key = KEY_PREFIX + hashlib.blake2s(payload.encode("utf-8"), digest_size=16).hexdigest()
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self._capacity:
            self._payloads.popitem(last=False)
        return key

    def get(self, key: str) -> str | None:
        return self._payloads.get(key)


def callback_data(button: Button, book: PayloadBook) -> str:
    """What the button sends back when pressed (at most 64 bytes)."""
    payload = button.payload if button.payload else None
    if payload is None:
        data = TITLE_PREFIX + button.title
        return data if _fits(data) else book.key_for(button.title)
    if _fits(payload) and not payload.startswith((KEY_PREFIX, TITLE_PREFIX)):
        return payload
    return book.key_for(payload)


def payload_of(data: str, book: PayloadBook, fallback_title: str | None = None) -> str | None:
    """The user's message for a pressed button's ``callback_data`` (None: nothing usable)."""
    if data.startswith(TITLE_PREFIX):
        return data[len(TITLE_PREFIX) :] or None
    if data.startswith(KEY_PREFIX):
        return book.get(data) or fallback_title
    return data or None


def button_title(keyboard: InlineKeyboardMarkup | None, data: str) -> str | None:
    """The title of the button with this ``callback_data`` in a message's keyboard."""
    if keyboard is None:
        return None
    for row in keyboard.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def keyboard(buttons: Sequence[Button] | None, book: PayloadBook) -> InlineKeyboardMarkup | None:
    """One button per row; None when there are no buttons."""
    if not buttons:
        return None
    rows = [
        [InlineKeyboardButton(text=b.title[:64] or "…", callback_data=callback_data(b, book))]
        for b in buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut after a line or sentence end."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind(mark) for mark in _BREAKS)
        cut = cut + 1 if cut > limit // 2 else limit
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


def render_reply(reply: BotReply, book: PayloadBook) -> list[OutgoingText]:
    """The messages for one reply; an image is sent as its link (plain text, no preview
    needed to understand it). A reply with only ``custom`` renders to nothing."""
    parts = [reply.text or ""]
    if reply.image:
        parts.append(reply.image)
    pieces = split_text("\n".join(p for p in parts if p.strip()))
    markup = keyboard(reply.buttons, book)
    if markup is not None and not pieces:
        pieces = ["请选择："]
    if not pieces:
        return []
    last = len(pieces) - 1
    return [OutgoingText(p, markup if i == last else None) for i, p in enumerate(pieces)]


def render_replies(replies: Iterable[BotReply], book: PayloadBook) -> list[OutgoingText]:
    """All replies of a turn, in order."""
    return [message for reply in replies for message in render_reply(reply, book)]


def spoken_text(replies: Iterable[BotReply]) -> str:
    """The words of a turn's replies as one text to speak in one voice note."""
    return "\n".join(r.text.strip() for r in replies if r.text and r.text.strip())


def _fits(data: str) -> bool:
    return 0 < len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
