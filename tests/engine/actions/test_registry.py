"""The registry backends (embedded SQLite, HTTP client against a fake registry), the
choice between them, the seed data, and the store of requests kept while it is down."""

from __future__ import annotations

import asyncio
import csv
import sqlite3
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from actions.pending import PendingStore, keep, main, pending
from actions.registry import Assistance, RegistryUnavailable, SqliteRegistry, registry_from_settings
from actions.registry_http import HttpRegistry
from actions.settings import DATA_DIR, ActionSettings, RegistryHttpSettings
from nlu.id_card import birth_date_of, is_valid_id_number
from nlu.surnames import split_surname
from scripts.make_residents import DEFAULT_COUNT, DEFAULT_SEED, DISTRICTS, make_rows, to_csv
from tests.engine.actions.fake_registry import TOKEN, FakeRegistry

SEED = DATA_DIR / "residents.csv"
WANG = ("110105194910010031", "王桂兰")
LI = ("310104195203150049", "李建国")
CHEN = ("51010719450208002X", "陈秀英")
UNKNOWN = "110108195001010011"
THIS_YEAR = date.today().year

# Small enough that every failure path of the whole file runs in about a second.
FAST = RegistryHttpSettings(
    request_timeout_s=0.2,
    attempts=3,
    backoff_s=0.01,
    backoff_max_s=0.02,
    deadline_s=1.0,
    breaker_threshold=5,
    breaker_cooldown_s=30.0,
)


@pytest.fixture()
async def server():
    fake = FakeRegistry()
    fake.add(*WANG, "朝阳区", last="2025-10-08")
    fake.add(*LI, "徐汇区", last=f"{THIS_YEAR}-03-15")
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture()
async def http(server):
    registry = HttpRegistry(server.url, TOKEN, FAST)
    yield registry
    await registry.close()


class Clock:
    """A monotonic clock the test moves by hand, so the breaker's cool-down needs no sleep."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
async def clocked(server, clock):
    """A client whose breaker opens after 3 failed requests and runs on `clock`."""
    registry = HttpRegistry(server.url, TOKEN, replace(FAST, breaker_threshold=3), clock=clock)
    yield registry
    await registry.close()


def seed_rows() -> list[dict[str, str]]:
    with SEED.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- HTTP registry ---------------------------------------------------------------------


async def test_http_finds_a_resident_with_one_request(http, server):
    resident = await http.find(WANG[0])
    assert resident is not None
    assert (resident.id_number, resident.name, resident.district) == (*WANG, "朝阳区")
    assert resident.last_certified == date(2025, 10, 8)
    assert server.requests == 1
    assert WANG[0] not in repr(resident)  # personal data stays out of logs


async def test_http_unknown_resident_is_none_without_retry(http, server):
    assert await http.find(UNKNOWN) is None
    assert server.requests == 1


async def test_http_wrong_token_is_unavailable_without_retry(server):
    registry = HttpRegistry(server.url, "wrong-token", FAST)
    try:
        with pytest.raises(RegistryUnavailable, match="401"):
            await registry.find(WANG[0])
    finally:
        await registry.close()
    assert server.requests == 1


async def test_http_a_server_error_is_retried(http, server):
    server.fail_next = 1
    resident = await http.find(WANG[0])
    assert resident is not None and resident.name == WANG[1]
    assert server.requests == 2


async def test_http_persistent_server_errors_give_up_after_the_retries(http, server):
    server.fail_next = 100
    with pytest.raises(RegistryUnavailable, match="HTTP 500 after 3") as caught:
        await http.find(WANG[0])
    assert server.requests == FAST.attempts
    assert WANG[0] not in str(caught.value)
    assert "110105********0031" in str(caught.value)


async def test_http_a_slow_registry_times_out(http, server):
    server.delay_s = 0.5
    started = asyncio.get_running_loop().time()
    with pytest.raises(RegistryUnavailable, match="TimeoutError") as caught:
        await http.find(WANG[0])
    assert asyncio.get_running_loop().time() - started < FAST.deadline_s
    assert isinstance(caught.value.__cause__, asyncio.TimeoutError)
    assert server.requests == FAST.attempts


async def test_http_the_deadline_bounds_all_retries(server):
    registry = HttpRegistry(server.url, TOKEN, replace(FAST, attempts=20, deadline_s=0.5))
    server.delay_s = 0.5
    started = asyncio.get_running_loop().time()
    try:
        with pytest.raises(RegistryUnavailable):
            await registry.find(WANG[0])
    finally:
        await registry.close()
    assert asyncio.get_running_loop().time() - started < 0.6
    assert server.requests < 5


async def test_http_connection_refused_is_unavailable(server):
    url = server.url
    await server.stop()  # nothing listens on that port any more
    registry = HttpRegistry(url, TOKEN, FAST)
    try:
        with pytest.raises(RegistryUnavailable, match="ClientConnectorError") as caught:
            await registry.find(WANG[0])
    finally:
        await registry.close()
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)


async def test_http_breaker_opens_fails_fast_and_closes_after_the_cool_down(clocked, clock, server):
    server.fail_next = 100
    with pytest.raises(RegistryUnavailable):
        await clocked.find(WANG[0])
    assert server.requests == 3 and clocked.breaker.is_open

    server.fail_next = 0  # the registry is back, but the cool-down is not over
    clock.now += FAST.breaker_cooldown_s - 1
    with pytest.raises(RegistryUnavailable, match="circuit open"):
        await clocked.find(WANG[0])
    assert server.requests == 3  # failed fast: the server saw nothing

    clock.now += 1
    assert await clocked.find(WANG[0]) is not None  # the trial request
    assert server.requests == 4 and not clocked.breaker.is_open
    assert await clocked.find(LI[0]) is not None
    assert server.requests == 5


async def test_http_a_failed_trial_opens_the_breaker_again(clocked, clock, server):
    server.fail_next = 100
    with pytest.raises(RegistryUnavailable):
        await clocked.find(WANG[0])
    clock.now += FAST.breaker_cooldown_s
    with pytest.raises(RegistryUnavailable):
        await clocked.find(WANG[0])
    assert server.requests == 4  # one trial, no retries once it failed
    with pytest.raises(RegistryUnavailable, match="circuit open"):
        await clocked.find(WANG[0])
    assert server.requests == 4


async def test_http_records_who_helped_with_the_certification(http, server):
    await http.record_certification(WANG[0], datetime.now(), Assistance("邻居"))
    assert server.assisted == [{"relation": "邻居", "resident_confirmed": True}]


async def test_http_records_a_certification(http, server):
    when = datetime.now().replace(microsecond=0)
    await http.record_certification(WANG[0], when)
    assert len(server.certifications) == 1
    id_number, certified_at = server.certifications[0]
    assert id_number == WANG[0]
    assert certified_at.utcoffset() is not None  # the registry gets an unambiguous time
    assert certified_at == when.astimezone()
    resident = await http.find(WANG[0])
    assert resident is not None and resident.certified_in(when.year)


async def test_http_reads_a_suspended_payment_and_the_post_resumes_it(http, server):
    server.residents[WANG[0]]["pension_status"] = "suspended"
    resident = await http.find(WANG[0])
    assert resident is not None and resident.suspended
    await http.record_certification(WANG[0], datetime.now())
    resident = await http.find(WANG[0])
    assert resident is not None and not resident.suspended


async def test_sqlite_recording_resumes_a_suspended_payment(tmp_path: Path):
    registry = SqliteRegistry(tmp_path / "r.sqlite3", SEED)
    suspended = next(
        row["id_number"] for row in seed_rows() if row["pension_status"] == "suspended"
    )
    resident = await registry.find(suspended)
    assert resident is not None and resident.suspended
    await registry.record_certification(suspended, datetime.now())
    resident = await registry.find(suspended)
    assert resident is not None and resident.pension_status == "receiving"


async def test_http_recording_for_an_unknown_resident_is_unavailable(http, server):
    with pytest.raises(RegistryUnavailable, match="404"):
        await http.record_certification(UNKNOWN, datetime.now())
    assert server.requests == 1 and server.certifications == []


async def test_http_a_malformed_answer_is_unavailable(http, server):
    server.residents[WANG[0]] = {"id_number": WANG[0], "name": WANG[1]}
    with pytest.raises(RegistryUnavailable, match="malformed"):
        await http.find(WANG[0])


async def test_http_one_session_for_all_requests(http):
    assert http._session is None  # created lazily, inside the running loop
    await http.find(WANG[0])
    session = http._session
    await http.find(LI[0])
    assert session is not None and http._session is session


# --- choosing the backend --------------------------------------------------------------


async def test_backend_follows_registry_url(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("REGISTRY_DB", raising=False)
    monkeypatch.delenv("PENDING_DB", raising=False)
    monkeypatch.setenv("REGISTRY_URL", "")
    settings = ActionSettings.from_env()
    assert settings.registry_url is None
    assert settings.pending_db == tmp_path / "pending.sqlite3"
    assert isinstance(registry_from_settings(settings), SqliteRegistry)

    monkeypatch.setenv("REGISTRY_URL", "https://registry.example/api/")
    monkeypatch.setenv("REGISTRY_TOKEN", "secret")
    settings = ActionSettings.from_env()
    assert (settings.registry_url, settings.registry_token) == (
        "https://registry.example/api/",
        "secret",
    )
    assert "secret" not in repr(settings)
    registry = registry_from_settings(settings)
    assert isinstance(registry, HttpRegistry)
    assert registry._url(WANG[0]) == f"https://registry.example/api/residents/{WANG[0]}"


def test_the_kiosk_worst_case_stays_under_eight_seconds():
    # A look-up and a record, each bounded by the deadline (tested above).
    assert 2 * RegistryHttpSettings().deadline_s < 8


# --- seed data and the SQLite registry -------------------------------------------------


def test_the_seed_file_is_what_the_generator_makes():
    assert SEED.read_text(encoding="utf-8") == to_csv(make_rows(DEFAULT_COUNT, DEFAULT_SEED))


def test_seed_residents_are_plausible():
    rows = seed_rows()
    assert len(rows) >= 200
    assert len({row["id_number"] for row in rows}) == len(rows)
    for row in rows:
        id_number = row["id_number"]
        assert is_valid_id_number(id_number), id_number
        assert 1930 <= birth_date_of(id_number).year <= 1965, id_number
        assert row["district"] == DISTRICTS[id_number[:6]], id_number
        assert split_surname(row["name"]) is not None, id_number
        if row["last_certified"]:
            assert date.fromisoformat(row["last_certified"]).year < 2026, id_number
    statuses = [row["pension_status"] for row in rows]
    assert set(statuses) == {"receiving", "suspended"}
    assert statuses.count("suspended") < len(rows) // 10


async def test_demo_residents_have_their_states(tmp_path: Path):
    registry = SqliteRegistry(tmp_path / "r.sqlite3", SEED)
    states = {}
    for id_number, name in (WANG, LI, CHEN):
        resident = await registry.find(id_number)
        assert resident is not None and resident.name == name
        states[name] = (resident.district, resident.certified_in(THIS_YEAR))
    assert states == {
        "王桂兰": ("朝阳区", False),
        "李建国": ("徐汇区", True),
        "陈秀英": ("武侯区", False),
    }


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


async def test_seeding_twice_adds_nothing(tmp_path: Path):
    db = tmp_path / "r.sqlite3"
    await SqliteRegistry(db, SEED).find(WANG[0])
    before = (count(db, "residents"), count(db, "certifications"))
    await SqliteRegistry(db, SEED).find(WANG[0])
    assert (count(db, "residents"), count(db, "certifications")) == before
    assert before[0] == len(seed_rows())


async def test_a_certification_survives_a_restart_and_a_longer_seed(tmp_path: Path):
    db, short_seed = tmp_path / "r.sqlite3", tmp_path / "short.csv"
    lines = SEED.read_text(encoding="utf-8").splitlines(keepends=True)
    short_seed.write_text("".join(lines[:11]), encoding="utf-8")  # header + 10 residents
    now = datetime.now()
    await SqliteRegistry(db, short_seed).record_certification(WANG[0], now)
    assert count(db, "residents") == 10

    restarted = SqliteRegistry(db, SEED)
    resident = await restarted.find(WANG[0])
    assert resident is not None and resident.last_certified == now.date()
    assert count(db, "residents") == len(seed_rows())


async def test_an_unusable_database_is_unavailable(tmp_path: Path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(RegistryUnavailable):
        await SqliteRegistry(tmp_path / "dir", SEED).find(WANG[0])
    with pytest.raises(RegistryUnavailable):
        await SqliteRegistry(tmp_path / "r.sqlite3", tmp_path / "missing.csv").find(WANG[0])


# --- requests kept while the registry is down ------------------------------------------


async def test_kept_while_down_completed_when_back_and_never_twice(
    clocked, clock, server, tmp_path
):
    store = PendingStore(tmp_path / "pending.sqlite3")
    asked = datetime.now().replace(microsecond=0) - timedelta(minutes=5)
    server.down = True
    with pytest.raises(RegistryUnavailable):
        await clocked.find(WANG[0])
    store.keep(*WANG, asked)
    store.keep(*WANG, asked + timedelta(minutes=1))  # asked again: still one request
    assert [(p.id_number, p.name, p.requested_at) for p in store.pending()] == [(*WANG, asked)]

    assert await store.complete_pending(clocked) == 0  # still down
    assert store.pending()[0].attempts == 1

    assert clocked.breaker.is_open
    server.down = False
    clock.now += FAST.breaker_cooldown_s
    assert await store.complete_pending(clocked) == 1
    assert server.certifications == [(WANG[0], asked.astimezone())]
    assert store.pending() == []

    assert await store.complete_pending(clocked) == 0
    store.keep(*WANG, asked)  # e.g. a second kiosk kept it too: found already certified
    assert await store.complete_pending(clocked) == 1
    assert len(server.certifications) == 1


async def test_completing_applies_the_kiosk_rules(http, server, tmp_path):
    store = PendingStore(tmp_path / "pending.sqlite3")
    asked = datetime.now()
    store.keep(UNKNOWN, "张三", asked)
    store.keep(WANG[0], "王贵兰", asked)  # name does not match the ID
    store.keep(*LI, asked)  # already certified this year
    assert await store.complete_pending(http) == 3
    assert server.certifications == [] and store.pending() == []
    with sqlite3.connect(tmp_path / "pending.sqlite3") as connection:
        rows = connection.execute("SELECT outcome FROM pending_certifications ORDER BY id")
        outcomes = [row[0] for row in rows]
    assert outcomes == ["not_found", "name_mismatch", "already_certified"]


def test_keep_uses_pending_db_and_never_raises(monkeypatch, tmp_path: Path, caplog):
    monkeypatch.setenv("PENDING_DB", str(tmp_path / "p.sqlite3"))
    keep(*WANG, datetime.now())
    assert [p.id_number for p in pending()] == [WANG[0]]

    (tmp_path / "dir").mkdir()
    monkeypatch.setenv("PENDING_DB", str(tmp_path / "dir"))
    keep(*WANG, datetime.now())
    assert "could not keep the certification of 110105********0031" in caplog.text
    assert WANG[0] not in caplog.text


def test_the_operator_command_completes_kept_requests(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    monkeypatch.setenv("REGISTRY_DB", str(tmp_path / "r.sqlite3"))
    monkeypatch.setenv("PENDING_DB", str(tmp_path / "p.sqlite3"))
    keep(*CHEN, datetime.now())
    assert main(["--list"]) == 0 and len(pending()) == 1
    assert main([]) == 0
    assert pending() == []
    resident = asyncio.run(SqliteRegistry(tmp_path / "r.sqlite3", SEED).find(CHEN[0]))
    assert resident is not None and resident.certified_in(THIS_YEAR)
