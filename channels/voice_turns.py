"""The hub as the dialogue stage of `voice.pipeline`, for every channel that takes speech.

`voice/` knows nothing of `bot/`; the kiosk and Telegram both need the same bridge: ask
the hub, turn a gateway error into the pipeline's `DialogueError` (its message is what
the person hears or reads), and reduce the bot's replies to what the pipeline speaks.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import GatewayError
from bot.hub import ConversationHub
from bot.messages import BotReply, UserMessage
from bot.reply_custom import speech_rate_of
from voice.errors import DialogueError
from voice.pipeline import DialogueReply


async def ask_hub(hub: ConversationHub, message: UserMessage) -> list[BotReply]:
    """The hub's replies to `message`; a `GatewayError` comes out as a `DialogueError`."""
    try:
        return await hub.handle(message)
    except GatewayError as err:
        raise DialogueError(message=err.message, reason=f"gateway {err.code}") from err


def dialogue_reply(replies: Sequence[BotReply]) -> DialogueReply:
    """The texts to speak, the speech rate the replies set, and each text's choices."""
    spoken = [reply for reply in replies if reply.text and reply.text.strip()]
    return DialogueReply(
        texts=tuple(reply.text for reply in spoken if reply.text),
        speech_rate=speech_rate_of(replies),
        choices=tuple(tuple(button.title for button in r.buttons or ()) for r in spoken),
    )
