"""Authentication and status answers follow each region's cycle; authenticating resumes pay.

The registry is seeded with residents whose dates are relative to today, so the answers do
not depend on the day the tests run. 朝阳区 counts rolling 12 months, 武侯区 calendar years
(the demo settings, `actions.settings`).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import auth
from actions.auth import ActionCheckAuthStatus, ActionSubmitAuth
from actions.cycle import CycleSettings, one_year_after
from actions.registry import SqliteRegistry
from actions.settings import DEMO_CALENDAR_YEAR_DISTRICTS
from actions.speech import spoken_date
from tests.engine.actions.conftest import make_tracker, user

TODAY = date.today()
LAST_YEAR_JUNE = date(TODAY.year - 1, 6, 1)
RESIDENTS = {
    # key: (id_number, name, district, pension_status, last_certified)
    "recent": ("110105195001010011", "赵一", "朝阳区", "receiving", TODAY - timedelta(days=30)),
    "due": ("110105195001010022", "钱二", "朝阳区", "receiving", TODAY - timedelta(days=340)),
    "expired": ("110105195001010033", "孙三", "朝阳区", "receiving", TODAY - timedelta(days=400)),
    "suspended": ("110105195001010044", "李四", "朝阳区", "suspended", TODAY - timedelta(days=800)),
    "calendar": ("510107195001010055", "周五", "武侯区", "receiving", LAST_YEAR_JUNE),
    "never": ("110105195001010066", "吴六", "朝阳区", "receiving", None),
}


@pytest.fixture()
def cycle_registry(tmp_path: Path):
    seed = tmp_path / "residents.csv"
    lines = ["id_number,name,district,pension_status,certified_this_year,last_certified"]
    for id_number, name, district, status, last in RESIDENTS.values():
        lines.append(f"{id_number},{name},{district},{status},no,{last or ''}")
    seed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    registry = SqliteRegistry(tmp_path / "registry.sqlite3", seed)
    auth.set_registry(registry)
    auth.set_cycle(CycleSettings.parse("", DEMO_CALENDAR_YEAR_DISTRICTS))
    yield registry
    auth.set_registry(None)
    auth.set_cycle(None)


async def status(domain, key: str) -> dict:
    id_number = RESIDENTS[key][0]
    tracker = make_tracker([user(id_number)], slots={"id_number": id_number})
    dispatcher = CollectingDispatcher()
    await ActionCheckAuthStatus().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    return message


async def submit(domain, key: str) -> tuple[str, dict]:
    id_number, name = RESIDENTS[key][:2]
    tracker = make_tracker([user(id_number)], slots={"person_name": name, "id_number": id_number})
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitAuth().run(dispatcher, tracker, domain)
    assert events[0]["name"] == "auth_result"
    return str(events[0]["value"]), dispatcher.messages[0]


async def test_status_answers_say_done_or_not_and_the_due_date(domain, cycle_registry) -> None:
    recent = RESIDENTS["recent"][4]
    done = await status(domain, "recent")
    assert done["response"] == "utter_status_done"
    assert done["due"] == spoken_date(one_year_after(recent))
    due = await status(domain, "due")
    assert due["response"] == "utter_status_due"
    assert due["due"] == spoken_date(one_year_after(RESIDENTS["due"][4]))
    assert (await status(domain, "expired"))["response"] == "utter_status_expired"
    assert (await status(domain, "suspended"))["response"] == "utter_status_suspended"
    calendar = await status(domain, "calendar")
    assert calendar["response"] == "utter_status_due"
    assert calendar["due"] == spoken_date(date(TODAY.year, 12, 31))
    assert (await status(domain, "never"))["response"] == "utter_status_not_done"


async def test_early_reauthentication_is_not_needed_yet(domain, cycle_registry) -> None:
    result, message = await submit(domain, "recent")
    assert result == "already_certified"
    assert message["response"] == "utter_auth_already_certified"
    assert message["due"] == spoken_date(one_year_after(RESIDENTS["recent"][4]))


@pytest.mark.parametrize("key", ["due", "expired", "never"])
async def test_due_or_overdue_authentication_succeeds_and_says_the_next_due_date(
    domain, cycle_registry, key: str
) -> None:
    result, message = await submit(domain, key)
    assert result == "success"
    assert message["response"] == "utter_auth_success"
    assert message["due"] == spoken_date(one_year_after(TODAY))
    assert (await status(domain, key))["response"] == "utter_status_done"


async def test_calendar_year_region_is_due_by_the_end_of_next_year(domain, cycle_registry) -> None:
    result, message = await submit(domain, "calendar")
    assert result == "success"
    assert message["due"] == spoken_date(date(TODAY.year + 1, 12, 31))
    result, message = await submit(domain, "calendar")
    assert result == "already_certified"
    assert message["due"] == spoken_date(date(TODAY.year + 1, 12, 31))


async def test_a_suspended_resident_hears_about_back_pay_and_is_reactivated(
    domain, cycle_registry
) -> None:
    result, message = await submit(domain, "suspended")
    assert result == "success"
    assert message["response"] == "utter_auth_success_resumed"
    resident = await cycle_registry.find(RESIDENTS["suspended"][0])
    assert resident is not None and resident.pension_status == "receiving"
    assert resident.last_certified == TODAY
    assert (await status(domain, "suspended"))["response"] == "utter_status_done"
