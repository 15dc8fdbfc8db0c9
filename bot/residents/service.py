"""Everything of `bot.residents` the gateway's lifespan starts, built in one place.

`channels.app` builds one `ResidentServices` per process: the hub gets `turns`, the agent
API `callbacks`, and `start` runs the two scheduled jobs (reminders, retention) once the
Telegram channel (if any) can send. Tests reach the jobs here to run a tick at a chosen
time (``app.state.residents.reminders.run_once(now)``).
"""

from __future__ import annotations

from datetime import datetime

from bot.residents.callbacks import Callbacks
from bot.residents.jobs import PeriodicJob
from bot.residents.reminders import Notify, ReminderJob, ReminderPolicy, RunReport
from bot.residents.retention import RetentionJob
from bot.residents.turns import ResidentTurns
from bot.settings import Settings
from bot.store.db import Database


class ResidentServices:
    """Turns hook, call-back list and the reminder and retention jobs of one gateway."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._db = database
        self._settings = settings
        self.policy = ReminderPolicy.from_settings(settings)
        self.turns = ResidentTurns(self.policy)
        self.callbacks = Callbacks(database)
        self.reminder_job = ReminderJob(database, self.policy, notify=None)
        self.reminders = PeriodicJob(
            "reminders", database, self._run_reminders, settings.reminder_tick_s
        )
        self.retention = PeriodicJob(
            "retention",
            database,
            RetentionJob(database, settings.retention_days),
            settings.retention_tick_s,
        )

    async def _run_reminders(self, now: datetime) -> RunReport:
        """Through the attribute, so `start` can give the job the Telegram sender."""
        return await self.reminder_job(now)

    def start(self, notify: Notify | None) -> None:
        """Start both jobs; `notify` sends to Telegram chats (None: no Telegram channel)."""
        self.reminder_job = ReminderJob(self._db, self.policy, notify)
        self.reminders.start()
        self.retention.start()

    async def stop(self) -> None:
        await self.reminders.stop()
        await self.retention.stop()
