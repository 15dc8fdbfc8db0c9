"""办事指南 actions: the catalogue, the form's validation, the answers, the service centres."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.catalogue import CatalogueError, find_center, load_centers, load_services
from actions.service_replies import (
    CENTER_NOT_FOUND,
    NO_OFFER,
    Aspect,
    Offer,
    aspect_reply,
    center_replies,
    choice_question,
    is_speakable,
    list_reply,
    not_found,
    sentences,
    spoken_list,
    summary_reply,
)
from actions.services import (
    ActionAskServiceLookupFormService,
    ActionFindServiceCenter,
    ActionServiceLookup,
    ActionServiceMore,
    ValidateServiceCenterForm,
    ValidateServiceLookupForm,
    detect_aspect,
    lookup_texts,
)
from actions.settings import ActionSettings
from tests.engine.actions.conftest import action, bot, make_tracker, user

SETTINGS = ActionSettings.from_env()
SERVICES = load_services(SETTINGS.services_file)
CENTERS = load_centers(SETTINGS.centers_file)
FORM = "service_lookup_form"
MARKUP = re.compile(r"[<>*_#`\[\]{}]")


def _service(name: str):
    return next(s for s in SERVICES if s.name == name)


def _texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["text"] for message in dispatcher.messages]


def _button(name: str) -> dict[str, str]:
    return {"title": name, "payload": f'/inform{{"service": "{name}"}}'}


def _validate(value: str, events: list | None = None) -> tuple[dict, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(events or [user(value)], active_loop=FORM)
    result = ValidateServiceLookupForm().validate_service(value, dispatcher, tracker, {})
    return result, dispatcher


async def _lookup(events: list, service: str) -> tuple[list, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(events, slots={"service": service})
    return await ActionServiceLookup().run(dispatcher, tracker, {}), dispatcher


async def _more(offer: str | None) -> tuple[list, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("好的", intent="affirm")], slots={"service_offer": offer})
    return await ActionServiceMore().run(dispatcher, tracker, {}), dispatcher


# ------------------------------------------------------------------ catalogue


def test_catalogue_size_and_required_districts():
    assert len(SERVICES) >= 40
    assert len(CENTERS) >= 10
    assert {"朝阳区", "徐汇区", "武侯区"} <= {c.district for c in CENTERS}


def test_every_service_is_complete_and_its_name_fits_a_button():
    for service in SERVICES:
        assert service.materials and service.steps and service.aliases, service.id
        assert len(service.name) <= 12, service.id
        assert service.phone.isdigit(), service.id


def test_a_broken_catalogue_names_the_entry(tmp_path: Path):
    broken = tmp_path / "services.yml"
    broken.write_text(
        "services:\n  - {id: x, name: 某服务, eligibility: e, where: w, hours: h, phone: '1',"
        " fee: f, materials: [], steps: [s]}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match=r"service #1 \(x\).*materials"):
        load_services(broken)


def test_district_with_or_without_qu():
    assert find_center("朝阳", CENTERS).district == "朝阳区"
    assert find_center("徐汇区", CENTERS).district == "徐汇区"
    assert find_center("浦东", CENTERS).district == "浦东新区"
    assert find_center("火星区", CENTERS) is None
    assert find_center("", CENTERS) is None


# ------------------------------------------------------------------ spoken limits


def test_spoken_lists_stop_at_three_items():
    assert spoken_list(("身份证",)) == "身份证"
    assert spoken_list(("身份证", "户口本")) == "身份证和户口本"
    assert spoken_list(("a", "b", "c", "d")) == "a、b和c"


def test_limits_themselves():
    assert is_speakable("高龄津贴不收费。还有别的事吗？")
    assert not is_speakable("一" * 37 + "。")
    assert not is_speakable("要吗？好吗？")
    assert not is_speakable("短句。" * 24)


def _every_reply() -> list[str]:
    said = [not_found(), NO_OFFER, CENTER_NOT_FOUND]
    for service in SERVICES:
        said.append(summary_reply(service).text)
        for aspect in Aspect:
            reply = aspect_reply(service, aspect)
            said.append(reply.text)
            while reply.offer is not None:
                reply = list_reply(service, reply.offer.aspect, reply.offer.start)
                said.append(reply.text)
    longest = sorted((s.name for s in SERVICES), key=len, reverse=True)
    said.append(choice_question(longest[:3])[0])
    for center in CENTERS:
        said.extend(center_replies(center))
    return said


def test_every_reply_is_short_has_one_question_and_no_markup():
    for text in _every_reply():
        assert all(len(s) <= 36 for s in sentences(text)), text
        assert len(text) <= 70, text
        assert text.count("？") <= 1, text
        assert not MARKUP.search(text), text


def test_lists_are_read_at_most_three_at_a_time():
    for service in SERVICES:
        for aspect in (Aspect.MATERIALS, Aspect.STEPS):
            items = service.materials if aspect is Aspect.MATERIALS else service.steps
            start, heard = 0, []
            while True:
                reply = list_reply(service, aspect, start)
                end = reply.offer.start if reply.offer else len(items)
                assert 1 <= end - start <= 3, (service.id, aspect, start)
                heard.extend(items[start:end])
                if reply.offer is None:
                    assert reply.text.endswith("还有别的事吗？")
                    break
                assert reply.text.endswith("要继续听吗？")
                start = end
            assert heard == list(items)


# ------------------------------------------------------------------ offers


def test_offer_round_trip_and_rubbish():
    offer = Offer(Aspect.MATERIALS, 3, "disability_certificate")
    assert offer.encode() == "materials:3:disability_certificate"
    assert Offer.parse(offer.encode()) == offer
    for rubbish in (None, "", "steps", "steps:x:y", "where:0:elderly_allowance", "fly:1:x"):
        assert Offer.parse(rubbish) is None


# ------------------------------------------------------------------ which part is asked


@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        ("残疾证要带啥材料", Aspect.MATERIALS),
        ("带什么证件", Aspect.MATERIALS),
        ("办理流程是怎样的", Aspect.STEPS),
        ("高龄津贴咋办", Aspect.STEPS),
        ("在哪办", Aspect.WHERE),
        ("地址告诉我", Aspect.WHERE),
        ("几点开门", Aspect.HOURS),
        ("电话多少", Aspect.PHONE),
        ("要多少钱", Aspect.FEE),
        ("收费不", Aspect.FEE),
        ("申请条件是啥", Aspect.ELIGIBILITY),
        ("我能不能办", Aspect.ELIGIBILITY),
        ("手机上能办吗", Aspect.ONLINE),
        ("有小程序吗", Aspect.ONLINE),
        ("要带啥 在哪办", Aspect.MATERIALS),
        ("在哪办 要带啥", Aspect.WHERE),
        ("高龄津贴", None),
    ],
)
def test_detect_aspect(text: str, aspect: Aspect | None):
    assert detect_aspect(text) is aspect


def test_the_service_name_is_not_the_question():
    assert detect_aspect("退休手续") is Aspect.STEPS
    assert detect_aspect("退休手续", _service("退休手续")) is None
    assert detect_aspect("手机社保卡在哪领", _service("电子社保卡")) is Aspect.WHERE


def test_lookup_texts_go_back_to_the_start_of_the_form():
    events = [
        user("你好", intent="greet"),
        action("utter_greet"),
        user("补贴要带啥材料", intent="service_lookup"),
        action(FORM),
        {"event": "active_loop", "name": FORM},
        bot("您问的是高龄津贴，还是养老服务补贴？", buttons=[_button("高龄津贴")]),
        action("action_listen"),
        user('/inform{"service": "高龄津贴"}'),
        action(FORM),
        {"event": "active_loop", "name": None},
    ]
    assert lookup_texts(make_tracker(events)) == ["补贴要带啥材料"]
    assert lookup_texts(make_tracker([user("在哪办"), user("要带啥")])) == ["要带啥"]


# ------------------------------------------------------------------ validate_service


def test_confident_match_fills_the_official_name():
    result, dispatcher = _validate("老年卡")
    assert result == {"service": "敬老卡"}
    assert dispatcher.messages == []


def test_a_vague_entity_is_read_in_its_sentence():
    sentence = "俺想问问那个八十岁以上老人的补贴咋领"
    result, dispatcher = _validate("补贴", [user(sentence, intent="service_lookup")])
    assert result == {"service": "高龄津贴"}
    assert dispatcher.messages == []


def test_misrecognised_name_is_understood():
    assert _validate("残疾正")[0] == {"service": "残疾证"}
    assert _validate("一宝报销咋弄")[0] == {"service": "医保报销"}


def test_ambiguous_asks_which_one_with_buttons():
    result, dispatcher = _validate("护理补贴")
    assert result == {"service": None}
    (message,) = dispatcher.messages
    assert message["text"] == "您问的是失能老人护理补贴，还是残疾人两项补贴？"
    assert message["buttons"] == [_button("失能老人护理补贴"), _button("残疾人两项补贴")]


def test_ambiguous_offers_at_most_three():
    result, dispatcher = _validate("医保")
    assert result == {"service": None}
    (message,) = dispatcher.messages
    assert message["text"] == "您问的是医保缴费、医保电子凭证，还是医保报销？"
    assert [b["title"] for b in message["buttons"]] == ["医保缴费", "医保电子凭证", "医保报销"]


def test_not_found_says_so_with_an_example():
    result, dispatcher = _validate("买火车票")
    assert result == {"service": None}
    (message,) = dispatcher.messages
    assert message["text"] == "没找到这项服务。您要办哪一项？比如“高龄津贴”。"
    assert not message["buttons"]


def _after_choice(answer: str, names: list[str]) -> list:
    return [
        user("护理补贴", intent="service_lookup"),
        bot(choice_question(names)[0], buttons=[_button(n) for n in names]),
        action("action_listen"),
        user(answer),
    ]


def test_voice_users_choose_by_position():
    names = ["失能老人护理补贴", "残疾人两项补贴"]
    assert _validate("第二个", _after_choice("第二个", names))[0] == {"service": "残疾人两项补贴"}
    assert _validate("最后那个", _after_choice("最后那个", names))[0] == {
        "service": "残疾人两项补贴"
    }
    result, dispatcher = _validate("第三个", _after_choice("第三个", names))
    assert result == {"service": None}
    assert dispatcher.messages[0]["text"] == not_found()


def test_yes_to_a_single_offered_name():
    assert _validate("是的", _after_choice("是的", ["高龄津贴"]))[0] == {"service": "高龄津贴"}
    assert _validate("是的", _after_choice("是的", ["高龄津贴", "低保"]))[0] == {"service": None}


# ------------------------------------------------------------------ the form's question


async def test_form_asks_unless_this_turn_already_asked():
    ask = ActionAskServiceLookupFormService()
    dispatcher = CollectingDispatcher()
    await ask.run(dispatcher, make_tracker([user("办事指南", intent="service_lookup")]), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_service_lookup_form_service"]

    dispatcher = CollectingDispatcher()
    asked = [user("医保"), action(FORM), bot("您问的是医保缴费，还是医保报销？")]
    await ask.run(dispatcher, make_tracker(asked), {})
    assert dispatcher.messages == []

    dispatcher = CollectingDispatcher()
    said = [user("嗯啊", intent="nlu_fallback"), bot("抱歉，我没听清。")]
    await ask.run(dispatcher, make_tracker(said), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_service_lookup_form_service"]


# ------------------------------------------------------------------ action_service_lookup


async def test_naming_the_service_gives_one_sentence_and_offers_the_steps():
    events, dispatcher = await _lookup([user("高龄津贴")], "高龄津贴")
    assert _texts(dispatcher) == [
        "高龄津贴在户籍所在地的社区服务中心办理，要带身份证、户口本和本人银行卡。要听办理步骤吗？"
    ]
    assert events == [SlotSet("service_offer", "steps:0:elderly_allowance")]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("高龄津贴要带啥材料", "高龄津贴要带身份证、户口本和本人银行卡。还有别的事吗？"),
        (
            "高龄津贴的办理流程",
            "高龄津贴一共3步。第一步，带材料到社区申请。第二步，街道审核。"
            "第三步，按月发到银行卡。还有别的事吗？",
        ),
        ("高龄津贴去哪办", "高龄津贴在户籍所在地的社区服务中心办理。还有别的事吗？"),
        (
            "高龄津贴几点能去办",
            "高龄津贴的办理时间是工作日上午9点到下午5点。还有别的事吗？",
        ),
        ("高龄津贴的电话", "高龄津贴可以打12345咨询。还有别的事吗？"),
        ("高龄津贴收费吗", "高龄津贴不收费。还有别的事吗？"),
        (
            "高龄津贴要啥条件",
            "高龄津贴的条件是：本地户籍、年满80周岁的老人。还有别的事吗？",
        ),
        ("高龄津贴能在手机上办吗", "高龄津贴也能在当地政务服务App上办。还有别的事吗？"),
    ],
)
async def test_each_aspect_is_answered(question: str, answer: str):
    events, dispatcher = await _lookup([user(question, intent="service_lookup")], "高龄津贴")
    assert _texts(dispatcher) == [answer]
    assert events == [SlotSet("service_offer", None)]


async def test_materials_three_at_a_time_then_the_rest():
    events, dispatcher = await _lookup([user("办残疾证要带啥材料")], "残疾证")
    assert _texts(dispatcher) == [
        "残疾证要带4样材料。先说3样：身份证、户口本和两张一寸白底照片。还有1样，要继续听吗？"
    ]
    assert events == [SlotSet("service_offer", "materials:3:disability_certificate")]

    events, dispatcher = await _more("materials:3:disability_certificate")
    assert _texts(dispatcher) == ["还要带医院病历。还有别的事吗？"]
    assert events == [SlotSet("service_offer", None)]


async def test_steps_offered_then_read_three_at_a_time():
    events, dispatcher = await _lookup([user("残疾证")], "残疾证")
    assert _texts(dispatcher)[0].endswith("要听办理步骤吗？")
    assert events == [SlotSet("service_offer", "steps:0:disability_certificate")]

    events, dispatcher = await _more("steps:0:disability_certificate")
    assert _texts(dispatcher) == [
        "残疾证一共4步。第一步，到社区提交申请。第二步，到指定医院评残。"
        "第三步，残联审核。还有1步，要继续听吗？"
    ]
    assert events == [SlotSet("service_offer", "steps:3:disability_certificate")]

    events, dispatcher = await _more("steps:3:disability_certificate")
    assert _texts(dispatcher) == ["第四步，领取残疾证。还有别的事吗？"]
    assert events == [SlotSet("service_offer", None)]


async def test_more_without_an_offer():
    events, dispatcher = await _more(None)
    assert _texts(dispatcher) == [NO_OFFER]
    assert events == [SlotSet("service_offer", None)]
    events, dispatcher = await _more("steps:0:no_such_service")
    assert _texts(dispatcher) == [NO_OFFER]


async def test_the_aspect_asked_before_the_buttons_is_answered_after():
    events = [
        user("补贴要带啥材料", intent="service_lookup"),
        action(FORM),
        {"event": "active_loop", "name": FORM},
        bot("您问的是高龄津贴，还是养老服务补贴？", buttons=[_button("高龄津贴")]),
        action("action_listen"),
        user('/inform{"service": "高龄津贴"}'),
        action(FORM),
        {"event": "active_loop", "name": None},
    ]
    _, dispatcher = await _lookup(events, "高龄津贴")
    assert _texts(dispatcher) == ["高龄津贴要带身份证、户口本和本人银行卡。还有别的事吗？"]


async def test_a_new_service_in_the_latest_message_replaces_the_old_slot():
    events, dispatcher = await _lookup([user("那低保在哪办", intent="service_lookup")], "敬老卡")
    assert _texts(dispatcher) == ["低保在街道社会救助窗口办理。还有别的事吗？"]
    assert events == [SlotSet("service", "低保"), SlotSet("service_offer", None)]


async def test_lookup_with_an_unknown_slot_value():
    events, dispatcher = await _lookup([user("嗯")], "买火车票")
    assert _texts(dispatcher) == [not_found()]
    assert events == [SlotSet("service_offer", None)]


# ------------------------------------------------------------------ service centres


def test_validate_district():
    dispatcher = CollectingDispatcher()
    form = ValidateServiceCenterForm()
    assert form.validate_district("朝阳", dispatcher, make_tracker([]), {}) == {
        "district": "朝阳区"
    }
    assert form.validate_district("火星区", dispatcher, make_tracker([]), {}) == {"district": None}
    assert _texts(dispatcher) == [CENTER_NOT_FOUND]


async def test_service_center_with_hours_and_accessibility():
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("朝阳区")], slots={"district": "朝阳区"})
    assert await ActionFindServiceCenter().run(dispatcher, tracker, {}) == []
    assert _texts(dispatcher) == [
        "朝阳区政务服务中心在工体东路甲2号。工作日上午9点到下午5点开门，电话010-65090000。",
        "那里有无台阶入口、轮椅借用和助听环路。还有无障碍卫生间。",
    ]


async def test_service_center_of_an_unknown_district():
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("火星区")], slots={"district": "火星区"})
    await ActionFindServiceCenter().run(dispatcher, tracker, {})
    assert _texts(dispatcher) == [CENTER_NOT_FOUND]
