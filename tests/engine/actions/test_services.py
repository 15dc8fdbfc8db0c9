from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.catalogue import find_center, find_service, load_centers, load_services
from actions.services import (
    ActionFindServiceCenter,
    ActionServiceLookup,
    ValidateServiceLookupForm,
    spoken_list,
)
from actions.settings import ActionSettings
from tests.engine.actions.conftest import make_tracker, user

SETTINGS = ActionSettings.from_env()


def test_colloquial_names_find_the_official_service():
    services = load_services(SETTINGS.services_file)
    assert find_service("老年卡", services).name == "敬老卡"
    assert find_service("我想问问高龄补贴咋办", services).name == "高龄津贴"
    assert find_service("买火车票", services) is None


def test_district_with_or_without_qu():
    centers = load_centers(SETTINGS.centers_file)
    assert find_center("朝阳", centers).district == "朝阳区"
    assert find_center("徐汇区", centers).district == "徐汇区"
    assert find_center("火星区", centers) is None


def test_spoken_lists_stop_at_three_items():
    assert spoken_list(("身份证",)) == "身份证"
    assert spoken_list(("身份证", "户口本")) == "身份证和户口本"
    assert spoken_list(("a", "b", "c", "d")) == "a、b和c"


async def test_lookup_answers_in_one_sentence(domain):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("老年卡")], slots={"service": "敬老卡"})
    await ActionServiceLookup().run(dispatcher, tracker, domain)
    (message,) = dispatcher.messages
    assert message["response"] == "utter_service_summary"
    assert message["service_name"] == "敬老卡"
    assert message["materials"] == "身份证和一张一寸照片"


async def test_unknown_service_is_asked_again(domain):
    dispatcher = CollectingDispatcher()
    result = ValidateServiceLookupForm().validate_service(
        "买火车票", dispatcher, make_tracker([]), domain
    )
    assert result == {"service": None}
    assert dispatcher.messages[0]["response"] == "utter_service_not_found"


async def test_service_center_with_accessibility(domain):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("朝阳区")], slots={"district": "朝阳区"})
    await ActionFindServiceCenter().run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_service_center",
        "utter_service_center_access",
    ]
    assert "有轮椅" in dispatcher.messages[1]["access"]
