"""帮他人认证: reading who helps, the elder's own agreement, the helper's limit, the record."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import auth
from actions.auth import ActionSubmitAuth, ValidateSocialSecurityAuthForm
from actions.on_behalf import HelperLedger, elder_agrees, for_someone_else, relation_in
from actions.outcome import helper_ref, resident_ref, set_key
from actions.registry import SqliteRegistry
from tests.engine.actions.conftest import make_tracker, user

WANG_ID = "110105194910010031"
FORM = "social_security_auth_form"


@pytest.fixture(autouse=True)
def fixed_key():
    set_key(b"test-key")
    yield
    set_key(None)


@pytest.fixture()
def ledger(tmp_path: Path):
    ledger = HelperLedger(tmp_path / "assisted.sqlite3")
    auth.set_ledger(ledger)
    yield ledger
    auth.set_ledger(None)


@pytest.mark.parametrize(
    ("text", "relation"),
    [
        ("我帮我妈认证", "子女"),
        ("给我老伴李建国做一下认证", "配偶"),
        ("替我奶奶做认证", "亲属"),
        ("帮邻居家老人认证", "邻居"),
        ("我是社工，帮老人认证", "社工"),
        ("我是社区志愿者 来帮老人认证", "志愿者"),
        ("我爸不会用手机，我帮他认证", "子女"),
        ("能帮别人认证吗", None),
    ],
)
def test_a_request_for_someone_else_is_read_with_the_relation(text: str, relation: str | None):
    assert for_someone_else(text)
    assert relation_in(text) == relation


@pytest.mark.parametrize(
    "text",
    [
        "我要认证",
        "帮我认证一下",
        "我闺女在外地 没人帮我弄手机 你这能给认证不",
        "我老伴去年走了 现在就我一个人 今年那个养老金认证还没弄",
        "我女儿帮我认证",  # the elder speaking: their own authentication
    ],
)
def test_ones_own_authentication_is_not_helper_mode(text: str):
    assert not for_someone_else(text)


@pytest.mark.parametrize(
    ("text", "agrees"),
    [("同意认证", True), ("我同意", True), ("是我本人，同意", True), ("不同意", False),
     ("我不愿意", False), ("嗯", None), ("好的", None)],
)  # fmt: skip
def test_only_the_elders_own_words_count(text: str, agrees: bool | None):
    assert elder_agrees(text) is agrees


def test_the_limit_counts_different_residents_within_a_year(ledger: HelperLedger):
    now = datetime(2026, 12, 1, 10, 0)
    helper = helper_ref("tg-1")
    for n in range(2):
        ledger.record(helper, f"resident-{n}", "社工", now - timedelta(days=30))
    ledger.record(helper, "resident-old", "社工", now - timedelta(days=400))
    assert ledger.helped(helper, now) == {"resident-0", "resident-1"}
    assert ledger.may_help(helper, "resident-0", 2, now)  # someone already helped: again
    assert not ledger.may_help(helper, "resident-new", 2, now)
    assert ledger.may_help(helper_ref("tg-2"), "resident-new", 2, now)  # another helper


async def test_the_relation_is_read_from_the_words_that_start_the_task(domain):
    form = ValidateSocialSecurityAuthForm()
    tracker = make_tracker([user("我帮我妈认证", "social_security_auth")], active_loop=FORM)
    slots = await form.required_slots(list(domain["forms"][FORM]["required_slots"]),
                                      CollectingDispatcher(), tracker, domain)  # fmt: skip
    assert slots[:2] == ["helping", "helper_relation"] and slots[-1] == "elder_consent"
    assert form.extract_helping(CollectingDispatcher(), tracker, domain) == {"helping": True}
    extracted = form.extract_helper_relation(CollectingDispatcher(), tracker, domain)
    assert extracted == {"helper_relation": "子女"}


async def test_the_certification_is_recorded_with_the_helpers_relation(
    domain, registry: SqliteRegistry, ledger: HelperLedger, tmp_path: Path
):
    slots = {
        "person_name": "王桂兰",
        "id_number": WANG_ID,
        "id_confirmed": True,
        "name_match": "exact",
        "helping": True,
        "helper_relation": "子女",
        "elder_consent": True,
    }
    tracker = make_tracker([user("同意认证", "affirm")], slots=slots)
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitAuth().run(dispatcher, tracker, domain)
    said = [m.get("response") for m in dispatcher.messages]
    # No reminder offer and no resident ref: the helper's channel is not the elder's.
    assert said == ["utter_auth_success"]
    gateway = dispatcher.messages[0]["custom"]
    assert gateway == {"task_done": {"task": "pension_auth", "service": None}}
    with sqlite3.connect(tmp_path / "registry.sqlite3") as connection:
        rows = connection.execute("SELECT * FROM assisted_certifications").fetchall()
    assert [(r[0], r[2], r[3]) for r in rows] == [(WANG_ID, "子女", 1)]
    assert ledger.helped(helper_ref("test-user"), datetime.now()) == {resident_ref(WANG_ID)}
    ended = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert ended["helping"] is None and ended["helper_relation"] is None


async def test_without_the_elders_yes_nothing_is_recorded(
    domain, registry: SqliteRegistry, ledger: HelperLedger, tmp_path: Path
):
    slots = {"person_name": "王桂兰", "id_number": WANG_ID, "id_confirmed": True,
             "helping": True, "helper_relation": "子女", "elder_consent": False}  # fmt: skip
    await registry.find(WANG_ID)  # the registry's file and tables exist
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("不同意", "deny")], slots=slots)
    await ActionSubmitAuth().run(dispatcher, tracker, domain)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_elder_refused"]
    with sqlite3.connect(tmp_path / "registry.sqlite3") as connection:
        assert connection.execute("SELECT COUNT(*) FROM assisted_certifications").fetchone() == (0,)
