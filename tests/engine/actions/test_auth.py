from __future__ import annotations

import sqlite3
from datetime import date

from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import auth
from actions.auth import (
    ActionCheckAuthStatus,
    ActionSubmitAuth,
    ValidateAuthStatusForm,
    ValidateSocialSecurityAuthForm,
)
from actions.cycle import one_year_after
from actions.pending import pending
from actions.privacy import IDENTITY_SLOTS
from actions.registry import SqliteRegistry
from actions.settings import DATA_DIR
from actions.speech import clean_person_name, spoken_date
from tests.engine.actions.conftest import make_tracker, user

WANG = ("王桂兰", "110105194910010031")
FORGET = [SlotSet(slot, None) for slot in IDENTITY_SLOTS]
LI = ("李建国", "310104195203150049")


async def submit(domain, name: str, id_number: str):
    tracker = make_tracker([user(id_number)], slots={"person_name": name, "id_number": id_number})
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitAuth().run(dispatcher, tracker, domain)
    return events, dispatcher.messages


async def test_first_certification_this_year_succeeds_and_is_recorded(domain, registry):
    events, messages = await submit(domain, *WANG)
    assert events == [
        SlotSet("auth_result", "success"),
        SlotSet("auth_failures", 0),
        *FORGET,
    ]
    assert messages[0]["response"] == "utter_auth_success"
    today = date.today()
    assert messages[0]["due"] == spoken_date(one_year_after(today))  # 朝阳区: rolling 12 months
    resident = await registry.find(WANG[1])
    assert resident is not None and resident.last_certified == today

    events, messages = await submit(domain, *WANG)
    assert events[0] == SlotSet("auth_result", "already_certified")


async def test_already_certified_says_when(domain, registry):
    events, messages = await submit(domain, *LI)
    assert events[0] == SlotSet("auth_result", "already_certified")
    assert messages[0]["response"] == "utter_auth_already_certified"
    assert messages[0]["certified_on"].startswith(f"{date.today().year}年")


async def test_unknown_id_number_is_not_found_and_the_form_asks_for_it_again(domain, registry):
    events, messages = await submit(domain, "张三", "110108195001010011")
    assert events == [
        SlotSet("auth_result", "not_found"),
        SlotSet("auth_failures", 1),
        *FORGET,
        SlotSet("requested_slot", None),
        ActiveLoop("social_security_auth_form"),
    ]
    assert messages[0]["response"] == "utter_auth_not_found"


async def test_name_that_does_not_match_the_id_asks_for_both_again(domain, registry):
    events, messages = await submit(domain, "王贵兰", WANG[1])
    assert events == [
        SlotSet("auth_result", "name_mismatch"),
        SlotSet("auth_failures", 1),
        *FORGET,
        SlotSet("person_name", None),
        SlotSet("requested_slot", None),
        ActiveLoop("social_security_auth_form"),
    ]
    assert messages[0]["response"] == "utter_auth_name_mismatch"


async def test_third_failure_hands_off_with_high_priority(domain, registry):
    tracker = make_tracker(
        [user("x")],
        slots={"person_name": "张三", "id_number": "110108195001010011", "auth_failures": 2},
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitAuth().run(dispatcher, tracker, domain)
    assert events == [SlotSet("auth_result", "not_found"), SlotSet("auth_failures", 0), *FORGET]
    assert dispatcher.messages[0]["response"] == "utter_auth_handoff"
    handoff = domain["responses"]["utter_auth_handoff"][0]["custom"]["handoff"]
    assert handoff == {"reason": "verification_failed", "priority": "high"}


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


async def test_kept_request_is_completed_once_the_registry_answers_again(domain, tmp_path):
    broken = tmp_path / "down"
    broken.mkdir()
    auth.set_registry(SqliteRegistry(broken, DATA_DIR / "residents.csv"))
    try:
        events, _ = await submit(domain, *WANG)
        assert events[0] == SlotSet("auth_result", "registry_unavailable")
        assert [r.id_number for r in pending()] == [WANG[1]]

        working = SqliteRegistry(tmp_path / "registry.sqlite3", DATA_DIR / "residents.csv")
        auth.set_registry(working)
        events, _ = await submit(domain, *LI)  # someone else, once the registry is back
        task = auth.settle_kept_requests() or auth._settling
        assert task is not None
        await task
    finally:
        auth.set_registry(None)
    assert pending() == []
    resident = await working.find(WANG[1])
    assert resident is not None and resident.last_certified == date.today()


async def test_status_check(domain, registry):
    # 王桂兰 last certified on 2025-10-08 (rolling 12 months): overdue since 2026-10-08.
    for (_, id_number), expected in ((LI, "utter_status_done"), (WANG, "utter_status_expired")):
        tracker = make_tracker([user(id_number)], slots={"id_number": id_number})
        dispatcher = CollectingDispatcher()
        events = await ActionCheckAuthStatus().run(dispatcher, tracker, domain)
        assert dispatcher.messages[0]["response"] == expected
        assert events == FORGET


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
            "id_number": WANG[1],
            "id_readback": "110105，19491001，0031",
            "id_confirmed": None,
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
    assert form.validate_person_name("啊", dispatcher, tracker, domain)["person_name"] is None
    assert dispatcher.messages[0]["response"] == "utter_invalid_name"


def test_the_seed_has_the_demo_residents(tmp_path):
    registry = SqliteRegistry(tmp_path / "r.sqlite3", DATA_DIR / "residents.csv")
    with registry._connect() as connection:
        names = {row[0] for row in connection.execute("SELECT name FROM residents")}
    assert {"王桂兰", "李建国", "陈秀英"} <= names
    assert isinstance(connection, sqlite3.Connection)


def confirm_tracker(text: str, intent: str = "inform", entities=None):
    return make_tracker(
        [user(text, intent, entities)],
        slots={"requested_slot": "id_confirmed", "person_name": "王桂兰", "id_number": WANG[1]},
        active_loop="social_security_auth_form",
    )


def test_read_back_yes_and_no():
    form = ValidateSocialSecurityAuthForm()
    dispatcher = CollectingDispatcher()
    yes = form.extract_id_confirmed(dispatcher, confirm_tracker("对的", "affirm"), {})
    assert yes == {"id_confirmed": True}
    no = form.extract_id_confirmed(dispatcher, confirm_tracker("不对", "deny"), {})
    assert no == {"id_number": None, "id_confirmed": None}
    other = form.extract_id_confirmed(dispatcher, confirm_tracker("再说一遍", "repeat"), {})
    assert other == {}, "anything else is left to the digression rules"
    assert dispatcher.messages == []


def test_read_back_correcting_one_group():
    form = ValidateSocialSecurityAuthForm()
    dispatcher = CollectingDispatcher()
    # Heard 110105194910020031 (birth date wrong); the user corrects the birth date.
    tracker = make_tracker(
        [user("不对 出生日期是一九四九一零零一", "deny")],
        slots={"requested_slot": "id_confirmed", "id_number": "110105194910020031"},
        active_loop="social_security_auth_form",
    )
    assert form.extract_id_confirmed(dispatcher, tracker, {}) == {
        "id_number": WANG[1],
        "id_confirmed": None,
    }
    # A correction that still fails the checksum asks for the whole number again.
    bad = form.extract_id_confirmed(dispatcher, confirm_tracker("后四位是零零三二", "deny"), {})
    assert bad == {"id_number": None, "id_confirmed": None}
    assert dispatcher.messages[-1]["response"] == "utter_id_correction_invalid"


def test_read_back_is_not_asked_about_outside_its_turn():
    form = ValidateSocialSecurityAuthForm()
    tracker = make_tracker([user("对", "affirm")], slots={"requested_slot": "person_name"})
    assert form.extract_id_confirmed(CollectingDispatcher(), tracker, {}) == {}


async def test_a_corrected_group_is_read_back_through_the_whole_validation(domain):
    """Runs the validation action as rasa_sdk does, so the read-back slot really updates."""
    misheard = "110105194910010357"
    tracker = make_tracker(
        [user("不对 后四位是零零三幺", "deny")],
        slots={
            "requested_slot": "id_confirmed",
            "person_name": "王桂兰",
            "id_number": misheard,
            "id_readback": "110105，19491001，0357",
        },
        active_loop="social_security_auth_form",
    )
    events = await ValidateSocialSecurityAuthForm().run(CollectingDispatcher(), tracker, domain)
    slots = {e["name"]: e["value"] for e in events}
    assert slots["id_number"] == WANG[1]
    assert slots["id_readback"] == "110105，19491001，0031"
    assert slots["id_confirmed"] is None
