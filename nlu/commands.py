"""The words the assistant understands in every state of a conversation.

The design brief promises them everywhere, also in the middle of a task: 再说一遍, 慢一点,
帮助, 转人工, 取消. Buttons and chat commands of every channel (the kiosk's big buttons,
Telegram's /repeat, /slower, /help, /human) send exactly these words, and the kiosk's
grammars always include them, so Rasa sees the same text whatever the channel. Plain
Python, shared by the gateway (channels, voice) like `nlu.id_card`.
"""

from __future__ import annotations

# Command name (as channels spell it) → the words sent to the assistant.
COMMAND_WORDS: dict[str, str] = {
    "repeat": "再说一遍",
    "slower": "慢一点",
    "help": "帮助",
    "human": "转人工",
    "cancel": "取消",
}
