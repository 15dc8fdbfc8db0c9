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
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
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
def any_store(request: pytest.FixtureRequest, tmp_path: Path, key: str):
    """The store on a SQLite file, or on the PostgreSQL test server (TEST_DATABASE_URL)."""
    if request.param == "sqlite":
        return store(tmp_path / "tracker.db")
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
    return EncryptedSQLTrackerStore(domain=DOMAIN, **where)


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
