"""好差评 ratings and 差评必改 cases (issue 12): asking, reading answers, following up.

- `rating_words`: what a short spoken or typed answer means (a level, a skip, nothing).
- `working_time`: deadlines in working time (weekends, holidays, 调休 days).
- `texts`: the sentences residents hear.
- `flow`: the gateway's side of a turn: ask after a task ended, read the answer first.
- `cases`: the staff's side: list, read (masked), move a case on, tell the resident.
- `deadlines`: warnings before a deadline and the overdue list for supervisors.

The tables are described in `bot.store.models.Rating`.
"""
