"""Whole-name reading in the form, matching by sound with a confirmation, and no loops."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionAnswerYesNo
from actions.auth import ActionAskNameConfirmed, ActionSubmitAuth, ValidateSocialSecurityAuthForm
from actions.commands import ActionAskWhatTask, ActionHandleFallback, ActionOutOfScope
from actions.no_progress import OFFER_RESPONSE, answers_since_activation
from actions.services import ValidateServiceCenterForm, ValidateServiceLookupForm
from tests.engine.actions.conftest import action, bot, make_tracker, user

FORM = "social_security_auth_form"
WANG_ID = "110105194910010031"


def asked(slot: str, form: str = FORM) -> list[dict[str, Any]]:
    return [
        action(form),
        {"event": "slot", "name": "requested_slot", "value": slot},
        bot("…", f"utter_ask_{form}_{slot}"),
        action("action_listen"),
    ]


def started(form: str = FORM) -> list[dict[str, Any]]:
    return [{"event": "active_loop", "name": form}]


async def validate(form_action, domain, events, slots, text, intent="inform", entities=None):
    events = [*events, user(text, intent, entities)]
    tracker = make_tracker(events, slots=slots, active_loop=form_action.form_name())
    dispatcher = CollectingDispatcher()
    result = await form_action.run(dispatcher, tracker, domain)
    return result, dispatcher.messages


def slots_of(events) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize(
    ("text", "intent", "name"),
    [
        ("孙文华", "inform", "孙文华"),
        ("白文华", "inform", "白文华"),
        ("我叫孙文华", "inform", "孙文华"),
        ("余永福", "inform", "余永福"),
        ("吴霞", "affirm", "吴霞"),  # DIET's guess of the intent does not matter
        ("邓强", "affirm", "邓强"),
        ("欧阳秀英", "inform", "欧阳秀英"),
        ("木子李，建国", "inform", "李建国"),
    ],
)
async def test_asked_for_the_name_the_whole_answer_is_the_name(domain, text, intent, name):
    # DIET tagged only the given name, as it did for 孙文华 → 文华.
    entities = [{"entity": "person_name", "value": name[-2:]}]
    events, messages = await validate(
        ValidateSocialSecurityAuthForm(),
        domain,
        [*started(), *asked("person_name")],
        {"requested_slot": "person_name"},
        text,
        intent,
        entities,
    )
    assert slots_of(events)["person_name"] == name
    assert messages == []


async def test_a_name_said_in_passing_keeps_its_surname(domain):
    text = "我叫孙文华，我来认证"
    entities = [{"entity": "person_name", "value": "文华"}]
    tracker = make_tracker(
        [
            user(text, "social_security_auth", entities),
            {"event": "slot", "name": "person_name", "value": "文华"},
        ],
        active_loop=None,
    )
    events = await ValidateSocialSecurityAuthForm().run(CollectingDispatcher(), tracker, domain)
    assert slots_of(events)["person_name"] == "孙文华"


def confirmed_tracker(name: str, text: str = "对", intent: str = "affirm"):
    return make_tracker(
        [*started(), *asked("id_confirmed"), user(text, intent)],
        slots={"requested_slot": "id_confirmed", "person_name": name, "id_number": WANG_ID},
        active_loop=FORM,
    )


async def test_a_name_matching_by_sound_is_confirmed_in_words_before_it_counts(domain, registry):
    form = ValidateSocialSecurityAuthForm()
    events = await form.run(CollectingDispatcher(), confirmed_tracker("王贵兰"), domain)
    slots = slots_of(events)
    assert slots["id_confirmed"] is True
    assert slots["name_match"] == "by_sound"
    assert slots["requested_slot"] == "name_confirmed"

    # The question describes the registered characters.
    ask = make_tracker(
        [],
        slots={"person_name": "王贵兰", "id_number": WANG_ID, "name_match": "by_sound"},
        active_loop=FORM,
    )
    dispatcher = CollectingDispatcher()
    await ActionAskNameConfirmed().run(dispatcher, ask, domain)
    (message,) = dispatcher.messages
    assert message["response"] == "utter_confirm_registered_name"
    assert message["registered_name"] == "王桂兰"
    assert message["spelling"] == "桂花的桂，兰花的兰"

    # Not yet confirmed: nothing is recorded.
    unconfirmed = make_tracker(
        [user("对", "affirm")],
        slots={"person_name": "王贵兰", "id_number": WANG_ID, "name_match": "by_sound"},
    )
    events = await ActionSubmitAuth().run(CollectingDispatcher(), unconfirmed, domain)
    assert SlotSet("auth_result", "name_mismatch") in events
    assert (await registry.find(WANG_ID)).last_certified.year < 2026

    # Confirmed: it is a match.
    confirmed = make_tracker(
        [user("对", "affirm")],
        slots={
            "person_name": "王贵兰",
            "id_number": WANG_ID,
            "name_match": "by_sound",
            "name_confirmed": True,
        },
    )
    events = await ActionSubmitAuth().run(CollectingDispatcher(), confirmed, domain)
    assert events[0] == SlotSet("auth_result", "success")


async def test_yes_or_no_to_the_registered_name(domain):
    form = ValidateSocialSecurityAuthForm()
    for text, intent, answer in (("对", "affirm", True), ("不对", "deny", False)):
        tracker = make_tracker(
            [*started(), *asked("name_confirmed"), user(text, intent)],
            slots={
                "requested_slot": "name_confirmed",
                "person_name": "王贵兰",
                "id_number": WANG_ID,
                "id_confirmed": True,
                "name_match": "by_sound",
            },
            active_loop=FORM,
        )
        events = await form.run(CollectingDispatcher(), tracker, domain)
        assert slots_of(events)["name_confirmed"] is answer


async def test_a_wrong_name_is_refused_without_revealing_the_registered_one(domain, registry):
    form = ValidateSocialSecurityAuthForm()
    events = await form.run(CollectingDispatcher(), confirmed_tracker("王建国"), domain)
    assert slots_of(events)["name_match"] == "no"
    assert "requested_slot" not in slots_of(events) or slots_of(events)["requested_slot"] is None

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        [user("对", "affirm")],
        slots={"person_name": "王建国", "id_number": WANG_ID, "name_match": "no"},
    )
    events = await ActionSubmitAuth().run(dispatcher, tracker, domain)
    assert SlotSet("auth_result", "name_mismatch") in events
    said = " ".join(str(v) for m in dispatcher.messages for v in m.values())
    assert "王桂兰" not in said and "桂" not in said
    # Even asked directly, the question action reveals nothing.
    dispatcher = CollectingDispatcher()
    await ActionAskNameConfirmed().run(dispatcher, tracker, domain)
    assert dispatcher.messages == []


FORMS = [
    (ValidateSocialSecurityAuthForm, "person_name", {}),
    (ValidateSocialSecurityAuthForm, "id_number", {"person_name": "王桂兰"}),
    (
        ValidateSocialSecurityAuthForm,
        "name_confirmed",
        {
            "person_name": "王贵兰",
            "id_number": WANG_ID,
            "id_confirmed": True,
            "name_match": "by_sound",
        },
    ),
    (ValidateServiceLookupForm, "service", {}),
    (ValidateServiceCenterForm, "district", {}),
]


@pytest.mark.parametrize(("form_class", "slot", "filled"), FORMS)
async def test_the_third_ask_without_progress_offers_a_human_in_every_form(
    domain, registry, form_class, slot, filled
):
    form = form_class()
    name = form.form_name()
    history = [
        *started(name),
        *asked(slot, name),
        user("嗯那个", "nlu_fallback"),
        *asked(slot, name),
    ]
    slots = {"requested_slot": slot, **filled}

    # The first answer in vain: the form may ask again.
    events, messages = await validate(
        form, domain, [*started(name), *asked(slot, name)], slots, "啊这个"
    )
    assert ActiveLoop(None) not in events
    assert all(m.get("response") != OFFER_RESPONSE for m in messages)

    # The second: instead of a third ask, the offer of a human; the form pauses.
    events, messages = await validate(form, domain, history, slots, "那个那个")
    assert messages[-1]["response"] == OFFER_RESPONSE
    assert SlotSet("stuck_on", f"{name}.{slot}") in events
    assert ActiveLoop(None) in events
    assert FollowupAction("action_listen") in events


async def test_commands_are_not_answers_in_vain(domain):
    form = ValidateSocialSecurityAuthForm()
    history = [*started(), *asked("person_name"), user("再说一遍", "repeat"), *asked("person_name")]
    events, _ = await validate(
        form, domain, history, {"requested_slot": "person_name"}, "慢一点", "speak_slower"
    )
    assert ActiveLoop(None) not in events
    counts = answers_since_activation([*history, user("嗯", "inform")], FORM)
    assert counts == {"person_name": 1}


async def test_the_offer_yes_hands_over_and_no_goes_on_with_the_task(domain):
    offer = [bot("还是没办成。要不要转人工？", OFFER_RESPONSE), action("action_listen")]
    slots = {"stuck_on": f"{FORM}.person_name"}
    dispatcher = CollectingDispatcher()
    await ActionAnswerYesNo().run(
        dispatcher, make_tracker([*offer, user("要", "affirm")], slots=slots), domain
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_no_progress"]
    handoff = next(r for r in domain["responses"]["utter_handoff_no_progress"])
    assert handoff["custom"]["handoff"]["reason"] == "no_progress"

    dispatcher = CollectingDispatcher()
    events = await ActionAnswerYesNo().run(
        dispatcher, make_tracker([*offer, user("不用", "deny")], slots=slots), domain
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_continue_task"]
    assert FollowupAction(FORM) in events


def test_the_action_server_registers_every_action_of_the_domain(domain):
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    custom = [a for a in domain["actions"] if a.startswith(("action_", "validate_"))]
    assert sorted(set(custom) - set(executor.actions)) == []


async def test_a_resumed_form_starts_counting_again(domain):
    """Resuming after "不用" runs the validation before the form is active again."""
    form = ValidateSocialSecurityAuthForm()
    history = [
        *started(),
        *asked("person_name"),
        user("嗯那个", "nlu_fallback"),
        *asked("person_name"),
        user("那个那个", "inform"),
        {"event": "active_loop", "name": None},
        bot("还是没办成。要不要转人工？", OFFER_RESPONSE),
        action("action_listen"),
        user("不用", "deny"),
    ]
    tracker = make_tracker(history, slots={"requested_slot": None}, active_loop=None)
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker, domain)
    assert ActiveLoop(None) not in events
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("action_class", "text", "intent"),
    [
        (ActionOutOfScope, "跟你打听一下结婚证", "out_of_scope"),
        (ActionHandleFallback, "残疾等级评定", "nlu_fallback"),
        (ActionAskWhatTask, "老人健康体检", "inform"),
    ],
)
async def test_words_naming_a_service_are_answered_whatever_the_intent(
    domain, action_class, text, intent
):
    dispatcher = CollectingDispatcher()
    events = await action_class().run(dispatcher, make_tracker([user(text, intent)]), domain)
    assert FollowupAction("action_service_lookup") in events
    assert dispatcher.messages == []


async def test_out_of_scope_stays_out_of_scope(domain):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("明天天气怎么样", "out_of_scope")])
    assert await ActionOutOfScope().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages[0]["response"] == "utter_out_of_scope"
    # Authentication is a task, not a question about the guide.
    fallback = make_tracker([user("我不想认证了", "nlu_fallback")])
    events = await ActionHandleFallback().run(CollectingDispatcher(), fallback, domain)
    assert FollowupAction("action_service_lookup") not in events


async def test_nothing_to_cancel_but_a_service_named_is_answered(domain):
    from actions.commands import ActionNothingToCancel as ActionCancel

    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("那个合作医疗在哪儿办呀", "cancel")])
    events = await ActionCancel().run(dispatcher, tracker, domain)
    assert FollowupAction("action_service_lookup") in events
    # Said as a yes or a no to no question at all: answered the same way.
    events = await ActionAnswerYesNo().run(
        CollectingDispatcher(), make_tracker([user("那个合作医疗在哪儿办呀", "deny")]), domain
    )
    assert FollowupAction("action_service_lookup") in events


async def test_the_third_turn_in_a_row_not_understood_offers_a_human(domain):
    from actions.commands import ActionNothingToCancel as ActionCancel

    nothing = [bot("好的。还有别的事吗？", "utter_nothing_to_cancel"), action("action_listen")]
    events = [user("取消", "cancel"), *nothing, user("取消", "cancel"), *nothing]
    dispatcher = CollectingDispatcher()
    await ActionCancel().run(dispatcher, make_tracker([*events, user("取消", "cancel")]), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_fallback_offer_human"]
