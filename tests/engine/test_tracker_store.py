"""engine_ext.tracker_store: Rasa's SQL tracker store with the events encrypted at rest."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from engine_ext.tracker_store import KEY_VARIABLE, EncryptedSQLTrackerStore, TrackerKeyError

ID_NUMBER = "110105194910010031"
PHONE = "13812345678"
DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [inform]
slots:
  id_number:
    type: text
    mappings: [{type: custom}]
"""
)


def store(db: Path) -> EncryptedSQLTrackerStore:
    return EncryptedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))


def conversation(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(f"我的身份证是{ID_NUMBER}，电话{PHONE}", {"name": "inform"}))
    tracker.update(SlotSet("id_number", ID_NUMBER))
    return tracker


def raw_text(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT * FROM events").fetchall()
    return json.dumps(rows, ensure_ascii=False)


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    value = Fernet.generate_key().decode()
    monkeypatch.setenv(KEY_VARIABLE, value)
    return value


def test_round_trip_keeps_events_and_stores_no_personal_number(tmp_path: Path, key: str) -> None:
    db = tmp_path / "tracker.db"
    asyncio.run(store(db).save(conversation("u1")))

    text = raw_text(db)
    assert ID_NUMBER not in text and PHONE not in text and "身份证" not in text
    assert not re.search(r"[0-9]{17}[0-9X]|1[0-9]{10}", text)
    # A new store on the same file and key (Rasa restarted) reads the conversation back.
    again = asyncio.run(store(db).retrieve("u1"))
    assert again is not None
    assert again.get_slot("id_number") == ID_NUMBER
    assert again.latest_message is not None
    assert again.latest_message.text == f"我的身份证是{ID_NUMBER}，电话{PHONE}"
    assert again.events == conversation("u1").events


def test_new_events_are_appended_not_rewritten(tmp_path: Path, key: str) -> None:
    db = tmp_path / "tracker.db"
    first = store(db)
    tracker = conversation("u1")
    asyncio.run(first.save(tracker))
    tracker.update(ActionExecuted("utter_ask_name"))
    asyncio.run(first.save(tracker))

    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM events").fetchone() == (4,)
    again = asyncio.run(store(db).retrieve("u1"))
    assert again is not None and again.events == tracker.events


def test_wrong_key_stops_at_start_and_says_so(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "tracker.db"
    asyncio.run(store(db).save(conversation("u1")))
    monkeypatch.setenv(KEY_VARIABLE, Fernet.generate_key().decode())

    with pytest.raises(TrackerKeyError, match=f"{KEY_VARIABLE} does not open"):
        store(db)


def test_missing_key_stops_before_the_database_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    with pytest.raises(TrackerKeyError, match=f"{KEY_VARIABLE} is not set"):
        store(tmp_path / "tracker.db")
    assert not (tmp_path / "tracker.db").exists()


def test_malformed_key_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "not-a-key")
    with pytest.raises(TrackerKeyError, match="not a Fernet key"):
        store(tmp_path / "tracker.db")


def test_plain_events_of_rasas_own_store_are_encrypted_at_start(tmp_path: Path, key: str) -> None:
    db = tmp_path / "tracker.db"
    asyncio.run(
        SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db)).save(conversation("u1"))
    )
    assert ID_NUMBER in raw_text(db)

    encrypted = store(db)

    assert ID_NUMBER not in raw_text(db)
    again = asyncio.run(encrypted.retrieve("u1"))
    assert again is not None and again.get_slot("id_number") == ID_NUMBER


@pytest.fixture(params=["sqlite", "postgresql"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path, key: str):
    """Makes stores on one SQLite file, or on the PostgreSQL test server (TEST_DATABASE_URL):
    each call is another Rasa process (a replica) on the same database."""
    if request.param == "sqlite":
        return lambda **kwargs: EncryptedSQLTrackerStore(
            domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"), **kwargs
        )
    configured = os.environ.get("TEST_DATABASE_URL")
    if not configured:
        if os.environ.get("REQUIRE_FULL_SUITE"):  # CI: a missing database is a failure
            pytest.fail("TEST_DATABASE_URL is not set (scripts/system-deps.sh sets it up)")
        pytest.skip("TEST_DATABASE_URL is not set")
    url = urlsplit(configured)
    where = {
        "dialect": "postgresql",
        "host": url.hostname,
        "port": url.port,
        "db": "tracker_test",  # Rasa creates it when missing, logged in to the test DB
        "login_db": url.path.lstrip("/"),
        "username": url.username,
        "password": url.password,
    }
    plain = SQLTrackerStore(domain=DOMAIN, **where)  # wiped first: each test has its own key
    with plain.session_scope() as session:
        session.query(plain.SQLEvent).delete()
        session.commit()
    plain.engine.dispose()
    return lambda **kwargs: EncryptedSQLTrackerStore(domain=DOMAIN, **where, **kwargs)


@pytest.fixture
def any_store(new_store):
    """The store on a SQLite file, or on the PostgreSQL test server (TEST_DATABASE_URL)."""
    return new_store()


def sender_ids(tracker_store: EncryptedSQLTrackerStore) -> set[str]:
    with tracker_store.session_scope() as session:
        return {row[0] for row in session.query(tracker_store.SQLEvent.sender_id).distinct()}


def test_a_confirmed_forget_me_deletes_the_whole_conversation(any_store) -> None:
    tracker_store = any_store
    kept, forgotten = conversation("kept"), conversation("forgotten")
    asyncio.run(tracker_store.save(kept))
    asyncio.run(tracker_store.save(forgotten))
    forgotten.update(UserUttered("删除我的记录", {"name": "forget_me"}))
    forgotten.update(SlotSet("forget_me", True))
    asyncio.run(tracker_store.save(forgotten))
    assert sender_ids(tracker_store) == {"kept"}
    assert asyncio.run(tracker_store.retrieve("forgotten")) is None


def test_conversations_silent_past_the_retention_period_are_purged(any_store) -> None:
    tracker_store = any_store
    old, recent = conversation("old"), conversation("recent")
    asyncio.run(tracker_store.save(old))
    asyncio.run(tracker_store.save(recent))
    day = 86400
    assert tracker_store.purge_expired(now=time.time() + 179 * day) == 0
    assert tracker_store.purge_expired(now=time.time() + 181 * day) == 2
    assert sender_ids(tracker_store) == set()


def test_only_the_silent_conversation_goes(tmp_path: Path, key: str) -> None:
    db = tmp_path / "tracker.db"
    tracker_store = store(db)
    old, recent = conversation("old"), conversation("recent")
    asyncio.run(tracker_store.save(old))
    asyncio.run(tracker_store.save(recent))
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE events SET timestamp = timestamp - ? WHERE sender_id = 'old'", (181 * 86400,)
        )
    # Rasa starting again purges (a store created on the same file).
    assert store(db).purge_expired() == 0  # the start already did it
    assert sender_ids(tracker_store) == {"recent"}


def turn(tracker: DialogueStateTracker, text: str) -> None:
    """What one turn appends: the resident's words, a slot, the answer, listening again."""
    tracker.update(UserUttered(text, {"name": "inform"}))
    tracker.update(SlotSet("id_number", text))
    tracker.update(ActionExecuted("utter_ok"))
    tracker.update(BotUttered(f"好的：{text}"))
    tracker.update(ActionExecuted("action_listen"))


def stored_rows(tracker_store: EncryptedSQLTrackerStore, sender_id: str) -> int:
    with tracker_store.session_scope() as session:
        return (
            session.query(tracker_store.SQLEvent)
            .filter(tracker_store.SQLEvent.sender_id == sender_id)
            .count()
        )


def rasa_last_session(tracker_store: EncryptedSQLTrackerStore, sender_id: str) -> list[dict]:
    """The last session's events by Rasa's own SQL query, decrypted: the reference."""
    with tracker_store.session_scope() as session:
        rows = tracker_store._event_query(session, sender_id, False).all()
        return [tracker_store._decrypt(row.data) for row in rows]


def test_two_replicas_taking_turns_each_see_the_others_events(new_store) -> None:
    replicas = [new_store(), new_store()]
    tracker = conversation("u1")
    asyncio.run(replicas[0].save(tracker))
    for number in range(8):
        # Round robin, and now and then the same replica twice (HAProxy's choice).
        replica = replicas[(number * 3 // 2) % 2]
        tracker = asyncio.run(replica.retrieve("u1"))
        assert tracker is not None
        turn(tracker, f"第{number}句")
        asyncio.run(replica.save(tracker))
        for other in replicas:
            seen = asyncio.run(other.retrieve("u1"))
            assert seen is not None and seen.events == tracker.events
            assert seen.get_slot("id_number") == f"第{number}句"
        # Each event stored once: the count Rasa would have made agrees with the cache's.
        assert stored_rows(replica, "u1") == len(tracker.events)
    fresh = asyncio.run(new_store().retrieve("u1"))
    assert fresh is not None and fresh.events == tracker.events


def test_a_replica_that_missed_turns_saves_only_its_own_new_events(new_store) -> None:
    first, second = new_store(), new_store()
    tracker = conversation("u1")
    asyncio.run(first.save(tracker))
    assert asyncio.run(second.retrieve("u1")) is not None  # second caches 3 events
    for number in range(3):  # first takes three turns alone
        tracker = asyncio.run(first.retrieve("u1"))
        turn(tracker, f"第{number}句")
        asyncio.run(first.save(tracker))
    tracker = asyncio.run(second.retrieve("u1"))
    assert tracker is not None and tracker.get_slot("id_number") == "第2句"
    turn(tracker, "最后一句")
    asyncio.run(second.save(tracker))
    assert stored_rows(first, "u1") == len(tracker.events) == 3 + 4 * 5
    assert asyncio.run(first.retrieve("u1")).events == tracker.events


def test_a_save_from_a_stale_tracker_counts_the_rows_as_rasa_does(new_store) -> None:
    first, second = new_store(), new_store()
    stale = conversation("u1")
    asyncio.run(first.save(stale))
    tracker = asyncio.run(second.retrieve("u1"))
    turn(tracker, "第一句")
    asyncio.run(second.save(tracker))
    # first still caches 3 rows, the database has 8: the cached number must not be used.
    turn(stale, "旧的一句")
    asyncio.run(first.save(stale))
    assert stored_rows(first, "u1") == 8  # Rasa's way: the first 8 of stale's 8 are "stored"
    assert asyncio.run(first.retrieve("u1")).events == tracker.events


def test_forget_me_on_one_replica_leaves_nothing_in_the_others_cache(new_store) -> None:
    first, second = new_store(), new_store()
    tracker = conversation("u1")
    turn(tracker, "第一句")
    asyncio.run(first.save(tracker))
    assert asyncio.run(second.retrieve("u1")) is not None  # cached by both
    assert asyncio.run(first.retrieve("u1")) is not None
    tracker.update(UserUttered("删除我的记录", {"name": "forget_me"}))
    tracker.update(SlotSet("forget_me", True))
    asyncio.run(second.save(tracker))
    for replica in (first, second):
        assert asyncio.run(replica.retrieve("u1")) is None
    # The next message starts a new conversation: nothing of the old one comes back.
    fresh = DialogueStateTracker("u1", DOMAIN.slots)
    fresh.update(ActionExecuted("action_listen"))
    turn(fresh, "重新开始")
    asyncio.run(first.save(fresh))
    for replica in (first, second):
        again = asyncio.run(replica.retrieve("u1"))
        assert again is not None and again.events == fresh.events
        assert ID_NUMBER not in json.dumps([e.as_dict() for e in again.events], ensure_ascii=False)
    assert stored_rows(first, "u1") == len(fresh.events)


def test_retention_purge_by_another_replica_drops_the_cached_conversation(new_store) -> None:
    first, second = new_store(), new_store()
    tracker = conversation("old")
    asyncio.run(first.save(tracker))
    assert asyncio.run(first.retrieve("old")) is not None
    assert asyncio.run(second.retrieve("old")) is not None
    assert second.purge_expired(now=time.time() + 181 * 86400) == 1
    for replica in (first, second):
        assert asyncio.run(replica.retrieve("old")) is None
    # A save from the cached tracker on the first replica is a new conversation: Rasa
    # would store every event of it again, and so do we (the database has none).
    asyncio.run(first.save(tracker))
    assert stored_rows(first, "old") == len(tracker.events)


def test_the_last_session_is_rasas_even_with_several_sessions(new_store) -> None:
    tracker_store = new_store()
    tracker = DialogueStateTracker("u1", DOMAIN.slots)
    history: list[dict] = []
    for session in range(3):
        before = len(tracker.events)
        tracker.update(ActionExecuted("action_session_start"))
        tracker.update(SessionStarted())
        tracker.update(ActionExecuted("action_listen"))
        turn(tracker, f"第{session}次")
        history += [event.as_dict() for event in list(tracker.events)[before:]]
        asyncio.run(tracker_store.save(tracker))
        cached = asyncio.run(tracker_store.retrieve("u1"))
        reference = rasa_last_session(tracker_store, "u1")
        assert cached is not None and [e.as_dict() for e in cached.events] == reference
        full = asyncio.run(tracker_store.retrieve_full_tracker("u1"))
        assert full is not None and [e.as_dict() for e in full.events] == history
        # The tracker Rasa goes on with holds the last session only (action_session_start
        # is older than session_started), and its save counts just those rows.
        assert cached.events[0] == SessionStarted(cached.events[0].timestamp)
        tracker = cached
    assert stored_rows(tracker_store, "u1") == 3 * 8


def test_the_cache_is_bounded_and_an_evicted_conversation_reads_back_whole(new_store) -> None:
    tracker_store = new_store(cached_events=10)
    trackers = {sender: conversation(sender) for sender in ("a", "b", "c", "d")}
    for sender, tracker in trackers.items():
        turn(tracker, sender)
        asyncio.run(tracker_store.save(tracker))
    assert tracker_store._cache._events <= 10
    assert "a" not in tracker_store._cache and "d" in tracker_store._cache
    for sender, tracker in trackers.items():
        again = asyncio.run(tracker_store.retrieve(sender))
        assert again is not None and again.events == tracker.events


def test_sqlite_runs_in_wal_mode(tmp_path: Path, key: str) -> None:
    db = tmp_path / "tracker.db"
    asyncio.run(store(db).save(conversation("u1")))
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
