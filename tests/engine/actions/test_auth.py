from __future__ import annotations

import sqlite3
from datetime import date

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import auth
from actions.auth import (
    ActionCheckAuthStatus,
    ActionSubmitAuth,
    ValidateAuthStatusForm,
    ValidateSocialSecurityAuthForm,
)
from actions.registry import SqliteRegistry
from actions.settings import DATA_DIR
from actions.speech import clean_person_name, spoken_date
from tests.engine.actions.conftest import make_tracker, user

WANG = ("王桂兰", "110105194910010031")
LI = ("李建国", "310104195203150049")


async def submit(domain, name: str, id_number: str):
    tracker = make_tracker([user(id_number)], slots={"person_name": name, "id_number": id_number})
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitAuth().run(dispatcher, tracker, domain)
    return events, dispatcher.messages


async def test_first_certification_this_year_succeeds_and_is_recorded(domain, registry):
    events, messages = await submit(domain, *WANG)
    assert events == [SlotSet("auth_result", "success"), SlotSet("id_number", None)]
    assert messages[0]["response"] == "utter_auth_success"
    today = date.today()
    assert messages[0]["valid_until"] == spoken_date(today.replace(year=today.year + 1))
    resident = await registry.find(WANG[1])
    assert resident is not None and resident.last_certified == today

    events, messages = await submit(domain, *WANG)
    assert events[0] == SlotSet("auth_result", "already_certified")


async def test_already_certified_says_when(domain, registry):
    events, messages = await submit(domain, *LI)
    assert events[0] == SlotSet("auth_result", "already_certified")
    assert messages[0]["response"] == "utter_auth_already_certified"
    assert messages[0]["certified_on"].startswith(f"{date.today().year}年")


async def test_unknown_id_number_is_not_found(domain, registry):
    events, messages = await submit(domain, "张三", "110108195001010011")
    assert events[0] == SlotSet("auth_result", "not_found")
    assert messages[0]["response"] == "utter_auth_not_found"


async def test_name_that_does_not_match_the_id(domain, registry):
    events, _ = await submit(domain, "王贵兰", WANG[1])
    assert events[0] == SlotSet("auth_result", "name_mismatch")


async def test_registry_down_apologises_and_offers_a_human(domain, tmp_path):
    broken = tmp_path / "not-a-db"
    broken.mkdir()  # sqlite cannot open a directory
    auth.set_registry(SqliteRegistry(broken, DATA_DIR / "residents.csv"))
    try:
        events, messages = await submit(domain, *WANG)
    finally:
        auth.set_registry(None)
    assert events[0] == SlotSet("auth_result", "registry_unavailable")
    assert messages[0]["response"] == "utter_auth_registry_unavailable"


async def test_status_check(domain, registry):
    for (_, id_number), expected in ((LI, "utter_status_done"), (WANG, "utter_status_not_done")):
        tracker = make_tracker([user(id_number)], slots={"id_number": id_number})
        dispatcher = CollectingDispatcher()
        events = await ActionCheckAuthStatus().run(dispatcher, tracker, domain)
        assert dispatcher.messages[0]["response"] == expected
        assert events == [SlotSet("id_number", None)]


def invalid_entity(value: str, problem: str) -> dict:
    return {
        "entity": "id_number_invalid",
        "value": value,
        "problem": problem,
        "start": 0,
        "end": len(value),
    }


async def test_a_wrong_id_number_is_explained_and_asked_again(domain):
    form = ValidateSocialSecurityAuthForm()
    cases = [
        ("11010519491001003", "length", "utter_invalid_id_length"),
        ("110105194910010032", "checksum", "utter_invalid_id_checksum"),
        ("110105194902310031", "birth_date", "utter_invalid_id_birth_date"),
    ]
    for value, problem, response in cases:
        tracker = make_tracker(
            [user(value, entities=[invalid_entity(value, problem)])],
            slots={"requested_slot": "id_number", "person_name": "王桂兰"},
            active_loop="social_security_auth_form",
        )
        dispatcher = CollectingDispatcher()
        result = form.extract_id_number(dispatcher, tracker, domain)
        assert result == {"id_number": None}
        assert dispatcher.messages[0]["response"] == response
    assert dispatcher.messages[0]["digit_count"] == 18


async def test_valid_id_passes_and_status_form_shares_the_check(domain):
    for form in (ValidateSocialSecurityAuthForm(), ValidateAuthStatusForm()):
        dispatcher = CollectingDispatcher()
        tracker = make_tracker([user(WANG[1])])
        assert form.validate_id_number(WANG[1], dispatcher, tracker, domain) == {
            "id_number": WANG[1]
        }
        assert form.validate_id_number("110105194910010032", dispatcher, tracker, domain) == {
            "id_number": None
        }
        assert dispatcher.messages[0]["response"] == "utter_invalid_id_checksum"


def test_person_name_is_cleaned_of_fillers_and_prefixes():
    assert clean_person_name("嗯 我叫王桂兰呀") == "王桂兰"
    assert clean_person_name("俺叫李建国") == "李建国"
    assert clean_person_name("陈秀英") == "陈秀英"
    assert clean_person_name("我不知道怎么说才好呢这个事情") is None
    assert clean_person_name("123") is None


async def test_person_name_validation_asks_again_for_non_names(domain):
    form = ValidateSocialSecurityAuthForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("啊")])
    assert form.validate_person_name("啊", dispatcher, tracker, domain) == {"person_name": None}
    assert dispatcher.messages[0]["response"] == "utter_invalid_name"


def test_the_seed_has_the_demo_residents(tmp_path):
    registry = SqliteRegistry(tmp_path / "r.sqlite3", DATA_DIR / "residents.csv")
    with registry._connect() as connection:
        names = {row[0] for row in connection.execute("SELECT name FROM residents")}
    assert {"王桂兰", "李建国", "陈秀英"} <= names
    assert isinstance(connection, sqlite3.Connection)
