from __future__ import annotations

from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.commands import (
    ActionCancel,
    ActionHandleFallback,
    ActionRepeat,
    ActionSpeakSlower,
    slower_rate,
)
from tests.engine.actions.conftest import action, bot, make_tracker, user

ASK_ID = "utter_ask_social_security_auth_form_id_number"


async def test_repeat_says_the_whole_previous_turn_word_for_word(domain):
    events = [
        user("你好", "greet"),
        bot("您好！我能帮您办养老金认证，查办事指南。", "utter_greet"),
        bot("您要办什么？", None, [{"title": "认证", "payload": "/social_security_auth"}]),
        user("再说一遍", "repeat"),
    ]
    dispatcher = CollectingDispatcher()
    assert await ActionRepeat().run(dispatcher, make_tracker(events), domain) == []
    assert [m["text"] for m in dispatcher.messages] == [
        "您好！我能帮您办养老金认证，查办事指南。",
        "您要办什么？",
    ]
    assert dispatcher.messages[1]["buttons"] == [
        {"title": "认证", "payload": "/social_security_auth"}
    ]


async def test_repeat_inside_a_form_leaves_the_question_to_the_form(domain):
    events = [
        user("幺幺零", "inform"),
        bot("身份证号是18位，我听到的是3位。", "utter_invalid_id_length"),
        bot("请说您的身份证号码，一个数字一个数字地说。", ASK_ID),
        user("再说一遍", "repeat"),
    ]
    tracker = make_tracker(
        events, slots={"requested_slot": "id_number"}, active_loop="social_security_auth_form"
    )
    dispatcher = CollectingDispatcher()
    await ActionRepeat().run(dispatcher, tracker, domain)
    assert [m["text"] for m in dispatcher.messages] == ["身份证号是18位，我听到的是3位。"]


async def test_repeat_with_nothing_said_yet_says_nothing(domain):
    dispatcher = CollectingDispatcher()
    await ActionRepeat().run(dispatcher, make_tracker([user("再说一遍", "repeat")]), domain)
    assert dispatcher.messages == []


def test_slower_rate_steps_down_and_stops_at_the_slowest():
    assert slower_rate(1.0) == 0.8
    assert slower_rate(0.8) == 0.65
    assert slower_rate(0.65) == 0.5
    assert slower_rate(0.5) == 0.5
    assert slower_rate(None) == 0.8


async def test_speak_slower_sets_the_rate_confirms_and_repeats(domain):
    events = [
        bot("您好！", "utter_greet"),
        user("慢一点", "speak_slower"),
    ]
    dispatcher = CollectingDispatcher()
    result = await ActionSpeakSlower().run(dispatcher, make_tracker(events), domain)
    assert result == [SlotSet("speech_rate", 0.8)]
    assert dispatcher.messages[0]["response"] == "utter_slower"
    assert dispatcher.messages[1]["text"] == "您好！"
    assert dispatcher.messages[2]["custom"] == {"speech_rate": 0.8}


async def test_speak_slower_twice_does_not_repeat_its_own_confirmation(domain):
    events = [
        bot("您好！", "utter_greet"),
        user("慢一点", "speak_slower"),
        bot("好的，我说慢一点。", "utter_slower"),
        bot("您好！"),
        user("再慢一点", "speak_slower"),
    ]
    dispatcher = CollectingDispatcher()
    result = await ActionSpeakSlower().run(
        dispatcher, make_tracker(events, slots={"speech_rate": 0.8}), domain
    )
    assert result == [SlotSet("speech_rate", 0.65)]
    assert [m.get("response") or m.get("text") for m in dispatcher.messages] == [
        "utter_slower",
        "您好！",
        None,  # the {"speech_rate": 0.65} payload for voice channels
    ]
    assert dispatcher.messages[-1]["custom"] == {"speech_rate": 0.65}


async def test_cancel_inside_a_form_ends_it_and_forgets_its_answers(domain):
    tracker = make_tracker(
        [user("不办了", "cancel")],
        slots={"requested_slot": "id_number", "person_name": "王桂兰"},
        active_loop="social_security_auth_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionCancel().run(dispatcher, tracker, domain)
    assert events == [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        SlotSet("person_name", None),
        SlotSet("id_number", None),
        SlotSet("id_readback", None),
        SlotSet("id_confirmed", None),
        SlotSet("name_match", None),
        SlotSet("name_confirmed", None),
    ]
    assert dispatcher.messages[0]["response"] == "utter_cancelled"


async def test_cancel_with_no_task_just_acknowledges(domain):
    dispatcher = CollectingDispatcher()
    assert (
        await ActionCancel().run(dispatcher, make_tracker([user("取消", "cancel")]), domain) == []
    )
    assert dispatcher.messages[0]["response"] == "utter_nothing_to_cancel"


async def test_fallback_offers_up_to_three_suggestions_best_first(domain):
    latest = {
        "text": "那张表格咋弄",
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.45},
            {"name": "check_auth_status", "confidence": 0.3},
            {"name": "out_of_scope", "confidence": 0.2},
            {"name": "find_service_center", "confidence": 0.1},
        ],
    }
    dispatcher = CollectingDispatcher()
    await ActionHandleFallback().run(
        dispatcher,
        make_tracker([user("那张表格咋弄", "nlu_fallback")], latest_message=latest),
        domain,
    )
    (message,) = dispatcher.messages
    assert message["text"] == "我没太听明白。您是想办下面哪件事？"
    assert [b["payload"] for b in message["buttons"]] == [
        "/check_auth_status",
        "/find_service_center",
        "/social_security_auth",
    ]


async def test_second_miss_in_a_row_offers_a_human(domain):
    events = [
        user("那个啥", "nlu_fallback"),
        action("action_handle_fallback"),
        bot("我没太听明白。您是想办下面哪件事？"),
        user("就那个嘛", "nlu_fallback"),
    ]
    dispatcher = CollectingDispatcher()
    await ActionHandleFallback().run(dispatcher, make_tracker(events), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_fallback_offer_human"]


async def test_a_miss_inside_a_form_is_short_because_the_form_asks_again(domain):
    tracker = make_tracker(
        [user("呜呜", "nlu_fallback")],
        slots={"requested_slot": "person_name"},
        active_loop="social_security_auth_form",
    )
    dispatcher = CollectingDispatcher()
    await ActionHandleFallback().run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_fallback_in_form"]
