"""Reminders before the authentication runs out: who is due, what is said, where it goes.

A resident is reminded once per due date (the unique (ref, due date) row in
``reminders_sent`` is taken *before* sending, so two runs, two replicas or a run and the
resident's own turn cannot remind twice), and only if they said yes to
到期前要提醒您吗？ (``reminders_consent``) and have not said 不要再提醒我了 since —
consent is read at send time, so an opt-out counts at once.

Where the reminder goes, in this order:

1. a Telegram chat in which the resident identified themselves (sender ``tg-<chat id>``):
   "您的养老金资格认证将于2027年10月8日到期，点下面的按钮就能办。" with a button that
   starts the task (``/social_security_auth``);
2. a phone number left in a call-back offer of that resident's conversations
   (`bot.handoff.waiting_room`): a row on the staff's call-back list (`callbacks`);
3. otherwise the web chat or kiosk shows it when the resident next identifies themselves
   (`bot.residents.turns`), since those sessions cannot be reached later.

Quiet hours (local time, default 21:00-08:00 Asia/Shanghai) defer the whole run: nothing
is sent and nothing is recorded, so the next run after the quiet hours sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError

from bot.messages import BotReply, Button
from bot.settings import Settings
from bot.store.db import Database
from bot.store.models import (
    Conversation,
    Handoff,
    ReminderOptOut,
    ReminderSent,
    Resident,
    ResidentSender,
)

logger = logging.getLogger(__name__)

TELEGRAM_PREFIX = "tg-"
START_TASK = Button(title="我要认证", payload="/social_security_auth")


class ReminderChannel:
    """Names of ``reminders_sent.channel``."""

    TELEGRAM = "telegram"
    CHAT = "chat"
    PHONE = "phone"
    FAILED = "failed"  # Telegram refused it MAX_SEND_ATTEMPTS times


MAX_SEND_ATTEMPTS = 3


# Sends one reply to a sender outside its turn; True when it went out.
Notify = Callable[[str, BotReply], Awaitable[bool]]


@dataclass(frozen=True)
class ReminderPolicy:
    """When a resident is due for a reminder and when none may be sent."""

    days: int = 30
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(8, 0)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderPolicy:
        start = end = None
        if settings.reminder_quiet_hours:
            first, second = settings.reminder_quiet_hours.split("-")
            start, end = time.fromisoformat(first), time.fromisoformat(second)
        return cls(settings.reminder_days, start, end, ZoneInfo(settings.reminder_timezone))

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.timezone)

    def is_quiet(self, now: datetime) -> bool:
        """Inside the quiet hours (a window may wrap midnight, as 21:00-08:00 does)."""
        if self.quiet_start is None or self.quiet_end is None:
            return False
        moment = self.local(now).time()
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= moment < self.quiet_end
        return moment >= self.quiet_start or moment < self.quiet_end

    def horizon(self, now: datetime) -> date:
        """Due dates up to this local date are reminded (overdue ones too)."""
        return self.local(now).date() + timedelta(days=self.days)

    def is_due(self, next_due: date | None, now: datetime) -> bool:
        return next_due is not None and next_due <= self.horizon(now)


def reminder_text(due: date, today: date) -> str:
    """The reminder's one sentence, with the date said the way residents write it."""
    day = f"{due.year}年{due.month}月{due.day}日"
    if due < today:
        return f"您的养老金资格认证已于{day}到期，点下面的按钮就能办。"
    return f"您的养老金资格认证将于{day}到期，点下面的按钮就能办。"


def reminder_reply(sender_id: str, due: date, today: date) -> BotReply:
    return BotReply(recipient_id=sender_id, text=reminder_text(due, today), buttons=[START_TASK])


@dataclass
class RunReport:
    """What one run did (for logs and tests)."""

    deferred: bool = False
    telegram: int = 0
    phone: int = 0
    failed: int = 0


class ReminderJob:
    """The work of one scheduled run; `bot.residents.jobs.PeriodicJob` runs it."""

    def __init__(self, database: Database, policy: ReminderPolicy, notify: Notify | None) -> None:
        self._db = database
        self._policy = policy
        self._notify = notify
        self.last_report: RunReport | None = None  # for tests and operators
        self._failures: dict[tuple[str, date], int] = {}

    async def __call__(self, now: datetime) -> RunReport:
        report = self.last_report = RunReport()
        if self._policy.is_quiet(now):
            report.deferred = True
            logger.info("reminders deferred: quiet hours")
            return report
        today = self._policy.local(now).date()
        for resident in await self._due(now):
            assert resident.next_due is not None
            await self._remind(resident.ref, resident.next_due, today, now, report)
        if report.telegram or report.phone or report.failed:
            logger.info(
                "reminders: telegram=%d phone=%d failed=%d",
                report.telegram,
                report.phone,
                report.failed,
            )
        return report

    async def _due(self, now: datetime) -> list[Resident]:
        """Consented residents due by the horizon who have no reminder for that date yet."""
        already = exists().where(
            ReminderSent.ref == Resident.ref, ReminderSent.due_date == Resident.next_due
        )
        async with self._db.read() as session:
            rows = await session.scalars(
                select(Resident)
                .where(Resident.reminders_consent.is_(True))
                .where(Resident.next_due.is_not(None))
                .where(Resident.next_due <= self._policy.horizon(now))
                .where(~already)
                .order_by(Resident.next_due, Resident.ref)
            )
            return list(rows)

    async def _remind(
        self, ref: str, due: date, today: date, now: datetime, report: RunReport
    ) -> None:
        chat, phone = await self._reachable(ref)
        if chat is not None and self._notify is not None:
            claim = await self._claim(ref, due, ReminderChannel.TELEGRAM, now, sender_id=chat)
            if claim is None:
                return
            if await self._notify(chat, reminder_reply(chat, due, today)):
                report.telegram += 1
                return
            report.failed += 1
            await self._failed(claim, (ref, due))
            return
        claimed = phone is not None and await self._claim(
            ref, due, ReminderChannel.PHONE, now, phone=phone
        )
        if claimed:
            report.phone += 1

    async def _reachable(self, ref: str) -> tuple[str | None, str | None]:
        """The resident's latest Telegram chat (not opted out), else a call-back number."""
        opted_out = exists().where(ReminderOptOut.sender_id == ResidentSender.sender_id)
        async with self._db.read() as session:
            senders = list(
                await session.scalars(
                    select(ResidentSender.sender_id)
                    .where(ResidentSender.ref == ref)
                    .where(~opted_out)
                    .order_by(ResidentSender.linked_at.desc(), ResidentSender.id.desc())
                )
            )
            chat = next((s for s in senders if s.startswith(TELEGRAM_PREFIX)), None)
            phone = None
            if senders:
                phone = await session.scalar(
                    select(Handoff.callback_phone)
                    .join(Conversation, Conversation.id == Handoff.conversation_id)
                    .where(Conversation.sender_id.in_(senders))
                    .where(Handoff.callback_phone.is_not(None))
                    .order_by(Handoff.id.desc())
                    .limit(1)
                )
        return chat, phone

    async def _claim(
        self,
        ref: str,
        due: date,
        channel: str,
        now: datetime,
        *,
        sender_id: str | None = None,
        phone: str | None = None,
    ) -> int | None:
        """Take the (ref, due date) row; None when another run or turn already has it."""
        try:
            async with self._db.transaction() as session:
                row = ReminderSent(
                    ref=ref,
                    due_date=due,
                    channel=channel,
                    sender_id=sender_id,
                    phone=phone,
                    sent_at=now,
                )
                session.add(row)
                await session.flush()
                return row.id
        except IntegrityError:
            return None

    async def _failed(self, claim: int, key: tuple[str, date]) -> None:
        """Not sent: the next run tries again, up to `MAX_SEND_ATTEMPTS` (a chat that
        blocked the bot would fail for ever); then the row stays, marked ``failed``."""
        self._failures[key] = self._failures.get(key, 0) + 1
        async with self._db.transaction() as session:
            if self._failures[key] < MAX_SEND_ATTEMPTS:
                await session.execute(delete(ReminderSent).where(ReminderSent.id == claim))
            else:
                row = await session.get(ReminderSent, claim)
                if row is not None:
                    row.channel = ReminderChannel.FAILED
                logger.warning("reminder not delivered after %d attempts", MAX_SEND_ATTEMPTS)
