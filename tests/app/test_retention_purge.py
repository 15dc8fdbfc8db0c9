"""删除我的记录 and the retention purge, on SQLite and PostgreSQL: conversations with their
transcript, notes and handoffs go; audit rows stay with a masked reference only; the
forgetting turn itself is not stored; old data goes, recent data and open handoffs stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.residents.retention import delete_conversations
from bot.store.db import Database
from bot.store.models import (
    AuditEntry,
    Case,
    CaseStep,
    Conversation,
    Handoff,
    Message,
    Note,
    Rating,
    ReminderSent,
    Resident,
    ResidentSender,
    TaskOutcome,
    utcnow,
)

from .conftest import Gateways
from .fake_rasa import FakeRasaState
from .handoff_kit import AgentApi, add_agent, say, texts
from .reminders_kit import (
    AUTHENTICATE,
    CONSENT,
    FORGET,
    FORGOTTEN,
    due_in,
    in_database,
    ref_of,
    run_retention,
    script_dialogue_parts,
    script_identified,
)


def test_forget_me_deletes_the_residents_conversations_and_keeps_masked_audit(
    gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    client = gateways.start()
    add_agent(gateways.database_url, "wang")
    script_dialogue_parts(fake_rasa)
    script_identified(fake_rasa, AUTHENTICATE, ref_of("zhou"), due_in(10))
    say(client, "web-zhou", AUTHENTICATE)  # shows the due reminder: a reminders_sent row
    say(client, "web-zhou", CONSENT)
    say(client, "tg-4242", AUTHENTICATE)  # the same resident in a Telegram chat
    say(client, "web-bystander", "你好")
    # A handoff with an agent's claim, note and hand-back: audit rows of this conversation.
    say(client, "web-zhou", "转人工 13812345678")
    say(client, "web-zhou", "转人工")
    agent = AgentApi(client, "wang")
    (conversation_id,) = agent.waiting_ids()
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    agent.ok("post", f"/conversations/{conversation_id}/notes", {"text": "老人电话13812345678"})
    agent.ok("post", f"/conversations/{conversation_id}/handback")

    replies = say(client, "web-zhou", FORGET)
    assert texts(replies) == [FORGOTTEN], "the bot's own answer is given"
    assert client.get("/api/conversations/web-zhou/messages").status_code == 404
    assert client.get("/api/conversations/tg-4242/messages").status_code == 404

    state = in_database(gateways.database_url, _state)
    assert state["senders"] == ["web-bystander"]
    assert state["messages"] == 3, "only the bystander's turn and two replies are left"
    assert state["notes"] == state["handoffs"] == 0
    assert state["residents"] == state["links"] == state["reminders"] == 0
    audit = [a for a in state["audit"] if a.action in ("claim", "handback")]
    assert [a.action for a in audit] == ["claim", "handback"], "who did what stays"
    for entry in audit:
        assert entry.conversation_id is None
        assert entry.detail is not None and entry.detail["conversation"] == "web-***ou"
        assert "13812345678" not in str(entry.detail)

    # The sender starts afresh; nothing of the old conversation comes back.
    say(client, "web-zhou", "你好")
    (first, *_) = client.get("/api/conversations/web-zhou/messages").json()["messages"]
    assert first["text"] == "你好"


def test_retention_purges_what_is_older_than_the_setting(
    gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    client = gateways.start(retention_days=180)
    add_agent(gateways.database_url, "wang")
    script_dialogue_parts(fake_rasa)
    script_identified(fake_rasa, "认证 old", ref_of("old"), due_in(400))
    script_identified(fake_rasa, "认证 kept", ref_of("kept"), due_in(300))
    say(client, "web-old", "认证 old")  # never consented: goes with the data
    say(client, "tg-99", "认证 kept")
    say(client, "tg-99", CONSENT)  # asked for reminders: ref and chat are kept
    say(client, "web-waiting", "转人工")  # an open handoff is never purged
    say(client, "web-recent", "你好")
    agent = AgentApi(client, "wang")
    (waiting_id,) = agent.waiting_ids()
    agent.ok("post", f"/conversations/{waiting_id}/claim")

    in_database(gateways.database_url, _rate("tg-99", 5))  # what the dashboard counts
    long_ago = utcnow() - timedelta(days=181)
    in_database(gateways.database_url, _age(["web-old", "tg-99", "web-waiting"], long_ago))
    run_retention(client, utcnow())

    state = in_database(gateways.database_url, _state)
    anonymous = [s for s in state["senders"] if s.startswith("purged-")]
    assert len(anonymous) == 1, "the rated conversation stays as an anonymous row"
    assert sorted(set(state["senders"]) - set(anonymous)) == ["web-recent", "web-waiting"]
    assert state["ratings"] == [5], "ratings outlive the words"
    run_retention(client, utcnow())  # the anonymous row is not looked at again
    assert in_database(gateways.database_url, _state)["senders"] == state["senders"]
    assert state["residents"] == 1 and state["links"] == 1, "the consented resident's chat"
    (claim,) = [a for a in state["audit"] if a.action == "claim"]
    assert claim.conversation_id == waiting_id, "the open handoff's audit is untouched"
    assert client.get("/api/conversations/web-old/messages").status_code == 404


def _age(senders: list[str], when: Any) -> Any:
    async def age(database: Database) -> None:
        async with database.transaction() as session:
            await session.execute(
                update(Conversation)
                .where(Conversation.sender_id.in_(senders))
                .values(updated_at=when)
            )
            await session.execute(update(Resident).values(updated_at=when))
            await session.execute(update(ResidentSender).values(linked_at=when))

    return age


def _rate(sender: str, level: int) -> Any:
    async def rate(database: Database) -> None:
        async with database.transaction() as session:
            conversation_id = await session.scalar(
                select(Conversation.id).where(Conversation.sender_id == sender)
            )
            assert conversation_id is not None
            session.add(
                Rating(
                    conversation_id=conversation_id,
                    channel="telegram",
                    source="m1",
                    subject="bot",
                    status="rated",
                    level=level,
                )
            )

    return rate


async def _state(database: Database) -> dict[str, Any]:
    async with database.read() as session:

        async def count(model: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        return {
            "senders": sorted(await session.scalars(select(Conversation.sender_id))),
            "messages": await count(Message),
            "notes": await count(Note),
            "handoffs": await count(Handoff),
            "residents": await count(Resident),
            "links": await count(ResidentSender),
            "reminders": await count(ReminderSent),
            "ratings": list(await session.scalars(select(Rating.level))),
            "audit": list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id))),
        }


def test_deleting_a_conversation_takes_its_ratings_and_cases_and_unlinks_others(
    database_url: str,
) -> None:
    """What hangs off a conversation goes with it (found by its foreign keys); a row that
    only may point at it (another resident's case told there) loses just the link."""

    async def scenario(database: Database) -> dict[str, Any]:
        await database.upgrade()
        now = utcnow()
        async with database.transaction() as session:
            gone, kept = (
                Conversation(sender_id=s, channel="web", profile={}, created_at=now, updated_at=now)
                for s in ("web-gone", "web-kept")
            )
            session.add_all([gone, kept])
            await session.flush()
            turn = Message(conversation_id=gone.id, role="bot", text="认证成功了", channel="web")
            session.add(turn)
            await session.flush()
            session.add(
                TaskOutcome(
                    conversation_id=gone.id, message_id=turn.id, task="pension_auth", channel="web"
                )
            )
            ratings = [
                Rating(conversation_id=c.id, channel="web", source=f"m{c.id}", subject="bot")
                for c in (gone, kept)
            ]
            session.add_all(ratings)
            await session.flush()
            cases = [
                Case(
                    rating_id=r.id,
                    conversation_id=r.conversation_id,
                    channel="web",
                    callback_due_at=now,
                    fix_due_at=now,
                    followup_conversation_id=gone.id,
                )
                for r in ratings
            ]
            session.add_all(cases)
            await session.flush()
            session.add_all(CaseStep(case_id=c.id, to_state="open") for c in cases)
            gone_id = gone.id
        async with database.transaction() as session:
            await delete_conversations(session, [gone_id])
        async with database.read() as session:
            left_cases = list(await session.scalars(select(Case)))
            return {
                "ratings": list(await session.scalars(select(Rating.source))),
                "cases": [(c.conversation_id, c.followup_conversation_id) for c in left_cases],
                "steps": await session.scalar(select(func.count()).select_from(CaseStep)),
                "outcomes": await session.scalar(select(func.count()).select_from(TaskOutcome)),
            }

    state = in_database(database_url, scenario)
    ((conversation_id, followup),) = state["cases"]
    assert followup is None, "the other case only loses its link"
    assert state["ratings"] == [f"m{conversation_id}"]
    assert state["steps"] == 1 and state["outcomes"] == 0
