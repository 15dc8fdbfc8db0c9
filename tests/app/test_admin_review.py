"""Learning from misses: missed turns become masked candidates through the hub; a
supervisor sees the agent's resolution, picks an intent, accepts or drops; only accepted
examples are exported, to a temporary file here, in Rasa 3 NLU YAML with provenance."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the app environment
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.reports.domain_info import fallback_texts, intents
from bot.reports.recording import MissKind, classify_miss, record_turn
from bot.store.db import Database
from bot.store.models import Conversation, Message, TaskOutcome, TrainingCandidate
from tests.app.admin_seed import SUPERVISOR, make_supervisor
from tests.app.conftest import Gateways
from tests.app.handoff_kit import AgentApi, add_agent, audit_rows, say


@pytest.fixture
def export_file(tmp_path: Path) -> Path:
    return tmp_path / "nlu" / "reviewed.yml"


@pytest.fixture
def client(gateways: Gateways, export_file: Path) -> TestClient:
    client = gateways.start(reviewed_nlu_file=export_file)
    make_supervisor(gateways.database_url)
    add_agent(gateways.database_url, "liming")
    return client


def test_the_domain_gives_intents_and_fallback_texts() -> None:
    assert {"greet", "complaint", "service_lookup", "check_auth_status"} <= set(intents())
    assert "nlu_fallback" not in intents()
    assert "我没太听明白。您是想办下面哪件事？" in fallback_texts()


def test_missed_turns_reach_the_review_with_the_agent_s_resolution(
    client: TestClient, gateways: Gateways, export_file: Path
) -> None:
    supervisor = AgentApi(client, SUPERVISOR)
    # A complaint with a phone number in it is handed over: a candidate, masked.
    say(client, "web-miss-1", "我要投诉")
    say(client, "web-miss-2", "电话13812345678那个事", metadata={"asr_confidence": 0.2})
    say(client, "web-miss-3", "/affirm", metadata={"asr_confidence": 0.2})  # a button press
    say(client, "web-miss-4", "听得很清楚", metadata={"asr_confidence": 0.95})
    say(client, "web-miss-5", "转人工")  # an explicit request: understood

    agent = AgentApi(client, "liming")
    waiting = agent.waiting_ids()
    complaint = waiting[0]
    agent.ok("post", f"/conversations/{complaint}/claim")
    agent.ok(
        "post",
        f"/conversations/{complaint}/messages",
        {"text": "您的投诉我记下了，电话13912345678"},
    )

    queue = client.get("/api/admin/candidates", headers=supervisor.headers).json()
    assert queue["pending"] == 2
    by_kind = {c["kind"]: c for c in queue["candidates"]}
    assert set(by_kind) == {"handoff", "low_confidence"}
    assert by_kind["handoff"]["text"] == "我要投诉"
    assert by_kind["handoff"]["reason"] == "complaint"
    assert by_kind["handoff"]["resolution"] == ["您的投诉我记下了，电话139****5678"]
    assert by_kind["low_confidence"]["text"] == "电话138****5678那个事"
    assert "complaint" in queue["intents"]

    first, second = by_kind["handoff"]["id"], by_kind["low_confidence"]["id"]
    headers = supervisor.headers
    # Nothing is exported before a person accepted something.
    empty = client.post("/api/admin/reviewed/export", headers=headers).json()
    assert empty == {"examples": 0, "written": False, "file": "reviewed.yml"}
    assert not export_file.exists()

    unknown = client.post(
        f"/api/admin/candidates/{first}/accept", json={"intent": "nope"}, headers=headers
    )
    assert unknown.status_code == 422
    accepted = client.post(
        f"/api/admin/candidates/{first}/accept",
        json={"intent": "complaint", "text": "我要投诉，  我的身份证号是110105194912310029"},
        headers=headers,
    )
    assert accepted.status_code == 204, accepted.text
    again = client.post(f"/api/admin/candidates/{first}/drop", headers=headers)
    assert again.status_code == 404
    assert client.post(f"/api/admin/candidates/{second}/drop", headers=headers).status_code == 204
    assert client.get("/api/admin/candidates", headers=headers).json()["pending"] == 0

    result = client.post("/api/admin/reviewed/export", headers=headers).json()
    assert result == {"examples": 1, "written": True, "file": "reviewed.yml"}
    text = export_file.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    assert data["nlu"] == [
        {"intent": "complaint", "examples": "- 我要投诉， 我的身份证号是110105********0029\n"}
    ]
    provenance = [line for line in text.splitlines() if line.startswith("# reviewer:")]
    assert len(provenance) == 1
    assert f"reviewer: {SUPERVISOR};" in provenance[0] and "conversation:" in provenance[0]
    assert "13812345678" not in text and "110105194912310029" not in text

    actions = [row.action for row in audit_rows(gateways.database_url)]
    assert actions.count("review_candidate") == 2 and "export_reviewed" in actions


def test_classify_miss_reads_fallback_texts_and_the_not_understood_flag() -> None:
    fallbacks = frozenset({"我没太听明白。"})
    turn = Message(text="嗯那个", asr_confidence=None, channel="web")
    assert classify_miss(turn, [Message(text="我没太听明白。")], fallbacks) == (
        MissKind.FALLBACK,
        None,
    )
    flagged = Message(text="好的", custom={"not_understood": True})
    assert classify_miss(turn, [flagged], fallbacks) == (MissKind.FALLBACK, None)
    handoff = Message(text="好的", custom={"handoff": {"reason": "not_understood"}})
    assert classify_miss(turn, [handoff], fallbacks) == (MissKind.HANDOFF, "not_understood")
    assert classify_miss(turn, [Message(text="好的")], fallbacks) is None


async def test_task_done_replies_are_recorded(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/tasks.db")
    try:
        await database.upgrade()
        async with database.transaction() as session:
            conversation = Conversation(sender_id="web-task", channel="web", profile={})
            session.add(conversation)
            await session.flush()
            turn = Message(
                conversation_id=conversation.id, role="user", text="查一下", channel="web"
            )
            session.add(turn)
            await session.flush()
            replies = [
                Message(conversation_id=conversation.id, role="bot", custom=custom, channel="web")
                for custom in (
                    {"task_done": {"task": "service_lookup", "service": "elderly_allowance"}},
                    {"task_done": {"task": "auth_status", "service": None}},
                    {"task_done": "broken"},
                )
            ]
            session.add_all(replies)
            await session.flush()
            await record_turn(session, conversation, turn, replies)
        async with database.read() as session:
            rows = list(await session.scalars(select(TaskOutcome).order_by(TaskOutcome.id)))
            assert [(r.task, r.service, r.channel) for r in rows] == [
                ("service_lookup", "elderly_allowance", "web"),
                ("auth_status", None, "web"),
            ]
            assert not list(await session.scalars(select(TrainingCandidate)))
    finally:
        await database.dispose()


def test_hub_records_through_the_real_turn(client: TestClient, gateways: Gateways) -> None:
    say(client, "web-miss-9", "我要投诉")

    async def count() -> int:
        database = Database(gateways.database_url)
        try:
            async with database.read() as session:
                return len(list(await session.scalars(select(TrainingCandidate))))
        finally:
            await database.dispose()

    assert asyncio.run(count()) == 1
