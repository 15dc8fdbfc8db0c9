"""Residents the registry identified, their reminders, and how long the gateway keeps things.

The dialogue (Rasa actions) tells the gateway who was identified (``custom.resident``: an
opaque ref, the next due date), whether they want reminders (``custom.reminders``) and
when they asked to be forgotten (``custom.forget_me``); `bot.reply_custom` reads those.

- `turns`: the hub's after-turn hook: records refs, links them to the sender, consent and
  opt-out, shows the due reminder in the resident's own turn, and 删除我的记录.
- `reminders`: the policy (days ahead, quiet hours), the reminder's words and button, and
  the scheduled job that sends reminders to Telegram chats or lists them for a call-back.
- `retention`: deleting conversations with everything that hangs off them (audit rows keep
  a masked reference), the scheduled purge, and forgetting one sender.
- `callbacks`: the staff's call-back list (masked phone; revealing it is audited).
- `lease` + `jobs`: one runner of each scheduled job across gateway replicas.
"""
