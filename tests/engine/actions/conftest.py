"""Tracker fixtures for action tests: real rasa_sdk objects, the real domain file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker

from actions import auth
from actions.registry import SqliteRegistry
from actions.settings import DATA_DIR

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Actions write under VAR_DIR (registry, kept requests): never the repository's var/."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("PENDING_DB", raising=False)
    monkeypatch.delenv("REGISTRY_DB", raising=False)
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    return tmp_path


@pytest.fixture()
def registry(tmp_path: Path):
    registry = SqliteRegistry(tmp_path / "registry.sqlite3", DATA_DIR / "residents.csv")
    auth.set_registry(registry)
    yield registry
    auth.set_registry(None)


def bot(
    text: str, utter_action: str | None = None, buttons: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "event": "bot",
        "text": text,
        "data": {"buttons": buttons} if buttons else {},
        "metadata": {"utter_action": utter_action} if utter_action else {},
    }


def user(
    text: str, intent: str = "inform", entities: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "entities": entities or []},
    }


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def make_tracker(
    events: list[dict[str, Any]],
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    latest_message: dict[str, Any] | None = None,
) -> Tracker:
    last_user = next((e for e in reversed(events) if e["event"] == "user"), None)
    if latest_message is None and last_user is not None:
        latest_message = {"text": last_user["text"], **last_user["parse_data"]}
    return Tracker(
        sender_id="test-user",
        slots={"requested_slot": None, "speech_rate": 1.0, **(slots or {})},
        latest_message=latest_message or {},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )
