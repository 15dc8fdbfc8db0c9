from __future__ import annotations

from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionAnswerYesNo
from tests.engine.actions.conftest import action, bot, make_tracker, user


async def answer(domain, asked: str | None, intent: str):
    events = [bot("……", asked), user("好", intent)] if asked else [user("好", intent)]
    dispatcher = CollectingDispatcher()
    result = await ActionAnswerYesNo().run(dispatcher, make_tracker(events), domain)
    return [m.get("response") for m in dispatcher.messages], result


async def test_yes_to_a_human_after_the_registry_failed(domain):
    asked = "utter_auth_registry_unavailable"
    assert await answer(domain, asked, "affirm") == (["utter_handoff_registry_down"], [])
    assert await answer(domain, asked, "deny") == (["utter_registry_down_later"], [])


async def test_yes_to_the_offer_of_a_human_after_two_misses(domain):
    offer = "utter_fallback_offer_human"
    assert (await answer(domain, offer, "affirm"))[0] == ["utter_handoff_not_understood"]
    assert (await answer(domain, offer, "deny"))[0] == ["utter_anything_else"]


async def test_yes_or_no_to_nothing_in_particular(domain):
    assert (await answer(domain, "utter_greet", "affirm"))[0] == ["utter_affirm_no_question"]
    assert (await answer(domain, None, "deny"))[0] == ["utter_deny_no_question"]


async def offer_answer(domain, intent: str, offered_by: str = "action_service_lookup"):
    events = [
        user("高龄津贴怎么办", "service_lookup"),
        action(offered_by),
        bot("高龄津贴在社区服务中心申请。要听办理步骤吗？"),
        user("好", intent),
    ]
    tracker = make_tracker(events, slots={"service_offer": "steps:0:elderly_allowance"})
    dispatcher = CollectingDispatcher()
    result = await ActionAnswerYesNo().run(dispatcher, tracker, domain)
    return [m.get("response") for m in dispatcher.messages], result


async def test_yes_to_hear_more_about_a_service(domain):
    more = [FollowupAction("action_service_more")]
    assert await offer_answer(domain, "affirm") == ([], more)
    assert await offer_answer(domain, "affirm", "action_service_more") == ([], more)
    assert await offer_answer(domain, "deny") == (
        ["utter_anything_else"],
        [SlotSet("service_offer", None)],
    )


async def test_a_stale_offer_is_not_taken_up(domain):
    stale = await offer_answer(domain, "affirm", "utter_greet")
    assert stale == (["utter_affirm_no_question"], [])
