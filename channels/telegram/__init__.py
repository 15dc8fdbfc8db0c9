"""The Telegram channel (aiogram 3): text and voice notes in, text and voice notes out.

Started by the gateway's lifespan when ``GATEWAY_TELEGRAM_TOKEN`` is set (`runner`);
without a token nothing here runs. Modules, each named after its job:

- `render`: bot replies -> message texts and inline keyboards (pure functions)
- `delivery`: sending with Telegram's flood control (429 retry-after) and per-chat order
- `voice_notes`: download, PyAV decode and Vosk for voice notes; TTS -> OGG/Opus replies
- `conversation`: a chat's turns through the hub, commands, pushes from the event bus
- `handlers`: aiogram routing of messages, commands and button presses
- `runner`: bot + dispatcher, long polling or webhook registration, the push follower
- `webhook`: ``POST /telegram/webhook`` for webhook mode
"""
