"""Reminders through the gateway on SQLite and PostgreSQL: the resident identified in a
turn (``custom.resident``), consent and opt-out (``custom.reminders``), the reminder
shown in the resident's own turn, the staff's call-back list for residents reachable
only by phone (masked, reveal audited), quiet hours, once per due date, one runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.handoff import texts as handoff_texts
from bot.residents import lease
from bot.residents.jobs import PeriodicJob
from bot.store.db import Database
from bot.store.models import (
    JobLease,
    ReminderOptOut,
    ReminderSent,
    Resident,
    ResidentSender,
    utcnow,
)

from .conftest import Gateways
from .fake_rasa import FakeRasaState
from .handoff_kit import AgentApi, add_agent, audit_rows, say, texts, user_messages, wait_for
from .reminders_kit import (
    AUTHENTICATE,
    CONSENT,
    OPT_OUT,
    due_in,
    in_database,
    local,
    ref_of,
    residents_of,
    run_reminders,
    script_dialogue_parts,
    script_identified,
)


def test_web_chat_shows_a_due_reminder_once_in_the_residents_turn(
    gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    client = gateways.start()
    due = due_in(12)
    script_identified(fake_rasa, AUTHENTICATE, ref_of("zhang"), due)

    replies = say(client, "web-zhang", AUTHENTICATE)
    reminder = replies[-1]
    assert reminder["text"] == (
        f"您的养老金资格认证将于{due.year}年{due.month}月{due.day}日到期，点下面的按钮就能办。"
    )
    assert reminder["buttons"] == [{"title": "我要认证", "payload": "/social_security_auth"}]
    stored = [m.get("text") for m in user_messages(client, "web-zhang")["messages"]]
    assert stored[-1] == reminder["text"], "the reminder is part of the transcript"

    again = say(client, "web-zhang", AUTHENTICATE)
    assert reminder["text"] not in texts(again), "once per due date"
    other_session = say(client, "kiosk-zhang-2", AUTHENTICATE)
    assert reminder["text"] not in texts(other_session), "once per resident, not per session"

    (sent,) = in_database(gateways.database_url, _reminders)
    assert (sent.channel, sent.sender_id, sent.due_date) == ("chat", "web-zhang", due)


def test_not_due_yet_and_opted_out_residents_see_no_reminder(
    gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    client = gateways.start()
    script_dialogue_parts(fake_rasa)
    script_identified(fake_rasa, "我要认证 later", ref_of("li"), due_in(200))
    assert len(say(client, "web-li", "我要认证 later")) == 3, "no reminder 200 days ahead"

    # 不要再提醒我了 before anyone was identified: the sender is opted out.
    assert texts(say(client, "web-wu", OPT_OUT)) == ["好的，以后不再提醒您。"]
    script_identified(fake_rasa, AUTHENTICATE, ref_of("wu"), due_in(5))
    assert len(say(client, "web-wu", AUTHENTICATE)) == 3, "opted out: no reminder"

    # After a resident was identified, the opt-out is theirs.
    say(client, "web-li", OPT_OUT)
    residents = {r.ref: r for r in in_database(gateways.database_url, _residents)}
    assert residents[ref_of("li")].reminders_consent is False
    assert residents[ref_of("wu")].reminders_consent is None
    assert in_database(gateways.database_url, _optouts) == ["web-wu"]
    assert in_database(gateways.database_url, _reminders) == []


def test_a_resident_reachable_only_by_phone_is_put_on_the_call_back_list(
    gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    client = gateways.start(callback_offer_after_s=0.2, handoff_tick_s=0.05)
    add_agent(gateways.database_url, "wang")
    script_dialogue_parts(fake_rasa)
    due = due_in(200)
    script_identified(fake_rasa, AUTHENTICATE, ref_of("zhao"), due)
    say(client, "web-zhao", AUTHENTICATE)
    say(client, "web-zhao", CONSENT)
    say(client, "web-zhao", "转人工")
    wait_for(
        lambda: any(
            m.get("text") == handoff_texts.CALLBACK_OFFER
            for m in user_messages(client, "web-zhao")["messages"]
        ),
        what="call-back offer",
    )
    say(client, "web-zhao", "13812345678")

    window = due - timedelta(days=20)
    quiet = run_reminders(client, local(window, 22, 30))
    assert quiet.deferred and in_database(gateways.database_url, _reminders) == []
    early = run_reminders(client, local(window, 7, 59))
    assert early.deferred, "quiet hours last until 08:00"
    assert run_reminders(client, local(window, 10)).phone == 1
    assert run_reminders(client, local(window, 15)).phone == 0, "once per due date"

    assert client.get("/api/agent/callbacks").status_code == 401
    agent = AgentApi(client, "wang")
    (item,) = agent.ok("get", "/callbacks")["items"]
    assert item["phone"] == "138****5678"
    assert item["due_date"] == due.isoformat()
    revealed = agent.ok("post", f"/callbacks/{item['id']}/reveal")
    assert revealed["phone"] == "13812345678"
    (audit,) = [
        a for a in audit_rows(gateways.database_url) if a.detail == {"callback_id": item["id"]}
    ]
    assert audit.action == "reveal"
    agent.ok("post", f"/callbacks/{item['id']}/called")
    assert agent.ok("get", "/callbacks")["items"] == []
    assert agent.get("/callbacks/999/reveal").status_code == 405
    assert agent.post("/callbacks/999/reveal").status_code == 404


def test_one_runner_across_replicas(database_url: str) -> None:
    async def scenario(database: Database) -> list[str]:
        await database.upgrade()
        ran: list[str] = []

        def work(name: str) -> Callable[[datetime], Awaitable[None]]:
            async def run(_now: datetime) -> None:
                ran.append(name)

            return run

        now = utcnow()
        first = PeriodicJob("demo", database, work("first"), 60, holder="first")
        second = PeriodicJob("demo", database, work("second"), 60, holder="second")
        assert await first.run_once(now)
        assert not await second.run_once(now), "the lease is held"
        assert await first.run_once(now + timedelta(seconds=30)), "the holder renews it"
        assert not await second.run_once(now + timedelta(seconds=200))
        assert await second.run_once(now + timedelta(seconds=400)), "expired: taken over"
        assert not await first.run_once(now + timedelta(seconds=401))
        await lease.release(database, "demo", "second", now + timedelta(seconds=402))
        assert await first.run_once(now + timedelta(seconds=403)), "released at shutdown"
        return ran

    assert in_database(database_url, scenario) == ["first", "first", "second", "first"]


async def _reminders(database: Database) -> list[ReminderSent]:
    async with database.read() as session:
        return list(await session.scalars(select(ReminderSent).order_by(ReminderSent.id)))


async def _residents(database: Database) -> list[Resident]:
    async with database.read() as session:
        return list(await session.scalars(select(Resident)))


async def _optouts(database: Database) -> list[str]:
    async with database.read() as session:
        return list(await session.scalars(select(ReminderOptOut.sender_id)))


async def _links(database: Database) -> list[ResidentSender]:
    async with database.read() as session:
        return list(await session.scalars(select(ResidentSender)))


def test_the_gateway_runs_both_jobs_on_its_own(gateways: Gateways) -> None:
    replicas = [gateways.start(reminder_tick_s=0.05, retention_tick_s=0.05) for _ in range(2)]

    def both() -> list[tuple[str, str]] | None:
        rows = in_database(gateways.database_url, _leases)
        return rows if len(rows) == 2 else None

    leases = wait_for(both, what="both jobs' leases")
    assert sorted(name for name, _ in leases) == ["reminders", "retention"]
    holders = {
        job.holder
        for replica in replicas
        for job in (residents_of(replica).reminders, residents_of(replica).retention)
    }
    assert {holder for _, holder in leases} <= holders, "held by one of the replicas"


async def _leases(database: Database) -> list[tuple[str, str]]:
    async with database.read() as session:
        rows = await session.execute(select(JobLease.name, JobLease.holder))
        return [(name, holder) for name, holder in rows.all()]
