"""好差评 through the gateway against the fake Rasa: asked once after a task, read first,
差评 → case with deadlines → agent steps → resident told → 追评; later ratings; 403s.

Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from bot.agents import AgentRole, set_role
from bot.feedback import texts as feedback_texts
from bot.feedback.deadlines import warn_due
from bot.store.db import Database
from bot.store.models import Case, CaseStep, Conversation, Rating, utcnow

from .conftest import Gateways
from .fake_rasa import HANDOFF_TEXT, RESIDENT_REF, FakeRasaState
from .handoff_kit import AgentApi, add_agent, audit_rows, say, texts, user_messages

ASK = feedback_texts.ASK_RATING
LEVELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


def _rows(url: str) -> tuple[list[Rating], list[Case], list[CaseStep]]:
    async def read() -> tuple[list[Rating], list[Case], list[CaseStep]]:
        database = Database(url)
        try:
            async with database.read() as session:
                ratings = list(await session.scalars(select(Rating).order_by(Rating.id)))
                cases = list(await session.scalars(select(Case).order_by(Case.id)))
                steps = list(await session.scalars(select(CaseStep).order_by(CaseStep.id)))
                return ratings, cases, steps
        finally:
            await database.dispose()

    return asyncio.run(read())


def _sql(url: str, statement: Any) -> None:
    async def run() -> None:
        database = Database(url)
        try:
            async with database.transaction() as session:
                await session.execute(statement)
        finally:
            await database.dispose()

    asyncio.run(run())


def _asks(replies: list[dict[str, Any]]) -> bool:
    return ASK in texts(replies)


def test_rating_waits_for_the_open_question_then_a_bad_rating_opens_a_case(
    gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    client = gateways.start()
    url = gateways.database_url
    # The authentication ends with a question (提醒您吗？): no rating yet.
    replies = say(client, "web-r1", "认证好了")
    assert not _asks(replies)
    # The next turn leaves no question open: the rating is asked once, with five buttons.
    replies = say(client, "web-r1", "要")
    assert texts(replies)[-1] == ASK
    assert [b["title"] for b in replies[-1]["buttons"]] == LEVELS
    assert replies[-1]["custom"]["feedback"]["kind"] == "rating"
    calls = len(fake_rasa.webhook_calls)
    # The answer is read by the gateway, not sent to Rasa; the reason came with it.
    replies = say(client, "web-r1", "不太满意，等太久了")
    assert texts(replies) == [feedback_texts.THANKS_BAD]
    assert len(fake_rasa.webhook_calls) == calls
    ratings, cases, steps = _rows(url)
    assert len(ratings) == 1
    rating = ratings[0]
    assert (rating.status, rating.level, rating.reason) == ("rated", 2, "等太久了")
    assert (rating.subject, rating.task, rating.channel) == ("bot", "pension_auth", "rest")
    assert rating.resident_ref == RESIDENT_REF
    assert len(cases) == 1
    case = cases[0]
    assert case.state == "open" and case.rating_id == rating.id
    assert case.callback_due_at > case.opened_at and case.fix_due_at > case.opened_at
    assert [s.to_state for s in steps] == ["open"]
    # Not asked again.
    assert not _asks(say(client, "web-r1", "你好"))


def test_skipping_or_talking_about_something_else_is_never_asked_again(
    gateway: TestClient, fake_rasa: FakeRasaState
) -> None:
    assert _asks(say(gateway, "web-s1", "查认证"))
    replies = say(gateway, "web-s1", "我还想问一下医保")
    assert texts(replies)[0] == "您说的是：我还想问一下医保"  # went on to Rasa
    assert not _asks(replies)
    assert not _asks(say(gateway, "web-s1", "你好"))

    assert _asks(say(gateway, "web-s2", "查认证"))
    assert texts(say(gateway, "web-s2", "跳过")) == [feedback_texts.SKIPPED]
    assert not _asks(say(gateway, "web-s2", "你好"))


def test_a_bad_rating_without_reason_asks_once_what_was_wrong(gateways: Gateways) -> None:
    client = gateways.start()
    say(client, "web-b1", "查认证")
    replies = say(client, "web-b1", "非常不满意")
    assert texts(replies) == [feedback_texts.ASK_REASON]
    assert texts(say(client, "web-b1", "我的电话是13812345678，没人回")) == [
        feedback_texts.THANKS_BAD
    ]
    ratings, cases, _ = _rows(gateways.database_url)
    assert ratings[0].level == 1
    assert ratings[0].reason is not None and "13812345678" not in ratings[0].reason
    assert len(cases) == 1
    # A good rating opens no case and asks nothing more.
    say(client, "web-b2", "查认证")
    assert texts(say(client, "web-b2", "还行")) == [feedback_texts.THANKS]
    ratings, cases, _ = _rows(gateways.database_url)
    assert ratings[-1].level == 3 and len(cases) == 1


def test_a_rating_can_be_given_later_once(gateways: Gateways) -> None:
    client = gateways.start()
    say(client, "web-l1", "查认证")
    say(client, "web-l1", "跳过")
    open_rating = client.get("/api/conversations/web-l1/rating").json()
    assert open_rating["task"] == "auth_status" and open_rating["levels"] == LEVELS
    path = f"/api/conversations/web-l1/rating/{open_rating['rating_id']}"
    response = client.post(path, json={"level": "不满意", "reason": "说得太快"})
    assert response.status_code == 200, response.text
    assert response.json()["case_opened"] is True
    # No one may change a rating given, the resident included.
    assert client.post(path, json={"level": "非常满意"}).status_code == 409
    assert client.get("/api/conversations/web-l1/rating").json()["rating_id"] is None
    assert client.post(path.replace("web-l1", "web-other"), json={"level": 5}).status_code == 404
    # Typed 评价 asks again only while something is open to rating.
    assert texts(say(client, "web-l1", "评价")) == [feedback_texts.NOTHING_TO_RATE]
    # Too old: outside the window (3 days by default).
    say(client, "web-l2", "查认证")
    say(client, "web-l2", "跳过")
    _sql(
        gateways.database_url,
        update(Rating)
        .where(Rating.status == "skipped")
        .values(created_at=utcnow() - timedelta(days=4)),
    )
    assert client.get("/api/conversations/web-l2/rating").json()["rating_id"] is None


def test_agents_work_the_case_and_the_resident_is_told_and_rates_the_fix(
    gateways: Gateways,
) -> None:
    client = gateways.start()
    url = gateways.database_url
    add_agent(url, "wangfang")
    add_agent(url, "lisi")
    say(client, "web-c1", "查认证")
    say(client, "web-c1", "不太满意，等太久了")
    wang, li = AgentApi(client, "wangfang"), AgentApi(client, "lisi")
    listing = wang.ok("get", "/cases")
    assert listing["mine"] == [] and len(listing["unassigned"]) == 1
    case_id = listing["unassigned"][0]["id"]
    assert listing["unassigned"][0]["level_words"] == "不满意"
    # Nobody reads the transcript of a case that is not theirs.
    assert wang.get(f"/cases/{case_id}").status_code == 403
    assert wang.ok("post", f"/cases/{case_id}/take")["case"]["assigned_to"] == "wangfang"
    assert li.post(f"/cases/{case_id}/take").status_code == 409
    assert li.get(f"/cases/{case_id}").status_code == 403
    assert li.post(f"/cases/{case_id}/steps", json={"to": "called_back"}).status_code == 403
    page = wang.ok("get", f"/cases/{case_id}")
    assert page["reason"] == "等太久了"
    assert any(m["text"] == "不太满意，等太久了" for m in page["transcript"])
    # The order is kept: no fix before the call-back, a fix needs its sentence.
    assert wang.post(f"/cases/{case_id}/steps", json={"to": "fixed", "note": "好"}).status_code == (
        409
    )
    wang.ok("post", f"/cases/{case_id}/steps", json={"to": "called_back"})
    assert wang.post(f"/cases/{case_id}/steps", json={"to": "fixed"}).status_code == 409
    before = user_messages(client, "web-c1")["cursor"]
    page = wang.ok(
        "post",
        f"/cases/{case_id}/steps",
        json={"to": "fixed", "note": "已经加派人手，以后不用等这么久。"},
    )
    assert page["case"]["state"] == "fixed" and page["case"]["resident_told_at"]
    told = user_messages(client, "web-c1", before)["messages"]
    assert told[-1]["text"] == (
        feedback_texts.result_told("已经加派人手，以后不用等这么久。") + feedback_texts.ASK_FOLLOWUP
    )
    assert [b["title"] for b in told[-1]["buttons"]] == LEVELS
    # The 追评, once.
    assert texts(say(client, "web-c1", "满意")) == [feedback_texts.THANKS]
    assert texts(say(client, "web-c1", "满意"))[0] == "您说的是：满意"
    page = wang.ok("post", f"/cases/{case_id}/steps", json={"to": "closed"})
    assert page["case"]["followup_level"] == 4
    assert [s["to_state"] for s in page["steps"]] == [
        "open",
        "open",
        "called_back",
        "fixed",
        "closed",
    ]
    assert all(s["agent"] == "wangfang" for s in page["steps"][1:])
    actions = [row.action for row in audit_rows(url)]
    assert actions.count("case_step") == 4 and actions.count("case_view") >= 1


def test_an_agent_closing_a_conversation_asks_about_the_agent(gateways: Gateways) -> None:
    client = gateways.start()
    add_agent(gateways.database_url, "wangfang")
    assert texts(say(client, "web-h1", "转人工"))[0] == HANDOFF_TEXT
    agent = AgentApi(client, "wangfang")
    conversation_id = agent.waiting_ids()[0]
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    agent.ok("post", f"/conversations/{conversation_id}/close")
    pushed = user_messages(client, "web-h1")["messages"]
    assert pushed[-1]["text"] == ASK
    say(client, "web-h1", "太差了")
    ratings, cases, _ = _rows(gateways.database_url)
    assert (ratings[-1].subject, ratings[-1].level) == ("agent", 1)
    # The rated agent's case: theirs from the start.
    listing = agent.ok("get", "/cases")
    assert [c["id"] for c in listing["mine"]] == [cases[-1].id]
    assert agent.get(f"/cases/{cases[-1].id}").status_code == 200


def test_a_kiosk_resident_is_told_when_they_identify_again(gateways: Gateways) -> None:
    client = gateways.start()
    url = gateways.database_url
    add_agent(url, "wangfang")
    say(client, "kiosk-a", "查认证")
    say(client, "kiosk-a", "不满意，字太小")
    _sql(url, update(Case).values(channel="kiosk"))
    _sql(
        url, update(Conversation).where(Conversation.sender_id == "kiosk-a").values(channel="kiosk")
    )
    agent = AgentApi(client, "wangfang")
    case_id = agent.ok("get", "/cases")["unassigned"][0]["id"]
    agent.ok("post", f"/cases/{case_id}/take")
    agent.ok("post", f"/cases/{case_id}/steps", json={"to": "called_back"})
    page = agent.ok(
        "post", f"/cases/{case_id}/steps", json={"to": "explained", "note": "字号可以调大。"}
    )
    assert page["case"]["resident_told_at"] is None  # nobody is at the kiosk any more
    # A later kiosk session: the resident identifies (custom.resident.ref) and sees the card.
    replies = say(client, "kiosk-b", "查认证")
    card = [r for r in replies if r.get("text", "").startswith("您上次的意见")]
    assert len(card) == 1 and "字号可以调大。" in card[0]["text"]
    assert not _asks(replies)  # one question at a time: the 追评
    assert texts(say(client, "kiosk-b", "非常满意")) == [feedback_texts.THANKS]
    _, cases, _ = _rows(url)
    assert cases[0].followup_level == 5 and cases[0].resident_told_at is not None


def test_deadlines_warn_once_and_overdue_cases_reach_supervisors(gateways: Gateways) -> None:
    client = gateways.start()
    url = gateways.database_url
    say(client, "web-d1", "查认证")
    say(client, "web-d1", "不满意")
    _sql(url, update(Case).values(callback_due_at=utcnow() - timedelta(minutes=1)))

    async def warn() -> list[int]:
        database = Database(url)
        try:
            return await warn_due(database, timedelta(hours=4), utcnow())
        finally:
            await database.dispose()

    assert len(asyncio.run(warn())) == 1
    assert asyncio.run(warn()) == []  # each deadline warned once
    add_agent(url, "wangfang")
    agent = AgentApi(client, "wangfang")
    assert agent.get("/cases/overdue").status_code == 403  # supervisors only
    listing = agent.ok("get", "/cases")
    assert listing["unassigned"][0]["urgency"] == "overdue"


def test_a_supervisor_marks_a_rating_abusive_after_review(gateways: Gateways) -> None:
    client = gateways.start()
    url = gateways.database_url
    add_agent(url, "wangfang")
    add_agent(url, "zhuguan")
    asyncio.run(_set_supervisor(url, "zhuguan"))
    say(client, "web-a1", "查认证")
    say(client, "web-a1", "非常不满意，你们都是骗子")
    rating_id = _rows(url)[0][0].id
    path = f"/ratings/{rating_id}/abusive"
    agent, supervisor = AgentApi(client, "wangfang"), AgentApi(client, "zhuguan")
    assert agent.post(path, json={"reason": "辱骂"}).status_code == 403
    assert supervisor.post(path, json={"reason": "辱骂工作人员"}).status_code == 204
    assert supervisor.post(path, json={"reason": "再来一次"}).status_code == 409
    assert supervisor.post("/ratings/999/abusive", json={"reason": "x"}).status_code == 404
    rating = _rows(url)[0][0]
    assert rating.abusive and rating.abusive_reason == "辱骂工作人员"
    assert rating.level == 1, "stays on record as given"
    assert "rating_abusive" in [row.action for row in audit_rows(url)]
    # Supervisors see every case, and the overdue queue.
    assert supervisor.get("/cases/overdue").status_code == 200
    assert supervisor.get(f"/cases/{_rows(url)[1][0].id}").status_code == 200


async def _set_supervisor(url: str, username: str) -> None:
    database = Database(url)
    try:
        await set_role(database, username, AgentRole.SUPERVISOR)
    finally:
        await database.dispose()
