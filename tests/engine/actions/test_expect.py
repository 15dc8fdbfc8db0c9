"""The ``expect`` payloads voice channels read: on the questions that expect yes/no, digits
or a choice, valid wherever they appear, and kept when a question is said again."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import expect
from actions.commands import ActionRepeat, ActionSpeakSlower
from actions.services import ActionServiceLookup, ValidateServiceLookupForm
from tests.engine.actions.conftest import bot, make_tracker, user

YES_NO = {"kind": "yes_no"}
DIGITS = {"kind": "digits"}


def _expect_in_domain(domain: dict[str, Any], response: str) -> dict[str, Any] | None:
    """What the response's question expects, the same in every variation of its wording."""
    found = [expect.expect_of(v.get("custom")) for v in domain["responses"][response]]
    assert all(value == found[0] for value in found), response
    return found[0]


@pytest.mark.parametrize(
    ("response", "wanted"),
    [
        ("utter_ask_social_security_auth_form_id_number", DIGITS),
        ("utter_ask_auth_status_form_id_number", DIGITS),
        ("utter_ask_social_security_auth_form_id_confirmed", YES_NO),
        ("utter_auth_registry_unavailable", YES_NO),
        ("utter_status_registry_unavailable", YES_NO),
        ("utter_fallback_offer_human", YES_NO),
        ("utter_ask_social_security_auth_form_person_name", None),  # a name: free speech
        ("utter_greet", None),
    ],
)
def test_questions_declare_what_they_expect(
    domain: dict[str, Any], response: str, wanted: dict[str, Any] | None
) -> None:
    assert _expect_in_domain(domain, response) == wanted


def test_every_expect_in_the_domain_is_well_formed(domain: dict[str, Any]) -> None:
    found = 0
    for name, variants in domain["responses"].items():
        for variant in variants:
            value = expect.expect_of(variant.get("custom"))
            if value is None:
                continue
            found += 1
            assert value["kind"] in expect.KINDS, name
            if value["kind"] == "choice":
                assert value["options"] and all(isinstance(o, str) for o in value["options"])
            # A yes/no question ends with one; a digits question asks for a number; a
            # choice offers its options as buttons or says the first one.
            text = variant["text"]
            if value["kind"] == "yes_no":
                assert text.endswith("？"), name
            elif value["kind"] == "digits":
                assert "号" in text, name
            else:
                titles = [b["title"] for b in variant.get("buttons") or []]
                assert titles == value["options"] or value["options"][0] in text, name
    assert found >= 6


async def test_repeat_keeps_the_expectation_of_the_question(domain: dict[str, Any]) -> None:
    asked = bot("社保系统暂时连不上，请稍后再问。要转人工吗？", "utter_status_registry_unavailable")
    asked["data"] = {"custom": expect.yes_no()}
    dispatcher = CollectingDispatcher()
    await ActionRepeat().run(dispatcher, make_tracker([asked, user("再说一遍", "repeat")]), domain)
    (message,) = dispatcher.messages
    assert message["text"] == asked["text"]
    assert message["custom"] == {"expect": YES_NO}


async def test_slower_says_the_question_again_with_its_expectation(
    domain: dict[str, Any],
) -> None:
    asked = bot("您问的是医保缴费，还是医保报销？")
    asked["data"] = {"custom": expect.choice(["医保缴费", "医保报销"])}
    dispatcher = CollectingDispatcher()
    await ActionSpeakSlower().run(
        dispatcher, make_tracker([asked, user("慢一点", "speak_slower")]), domain
    )
    again = next(m for m in dispatcher.messages if m["text"] == asked["text"])
    assert again["custom"]["expect"] == {"kind": "choice", "options": ["医保缴费", "医保报销"]}


async def test_repeat_of_a_plain_statement_has_no_expectation(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = [bot("再见，祝您身体健康！", "utter_goodbye"), user("再说一遍", "repeat")]
    await ActionRepeat().run(dispatcher, make_tracker(events), domain)
    assert not dispatcher.messages[0]["custom"]


def test_which_service_expects_a_choice_of_the_names_offered() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("护理补贴")], active_loop="service_lookup_form")
    ValidateServiceLookupForm().validate_service("护理补贴", dispatcher, tracker, {})
    (message,) = dispatcher.messages
    titles = [b["title"] for b in message["buttons"]]
    assert message["custom"] == {"expect": {"kind": "choice", "options": titles}}


async def test_an_offer_to_read_on_expects_yes_or_no() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("高龄津贴")], slots={"service": "高龄津贴"})
    await ActionServiceLookup().run(dispatcher, tracker, {})
    (message,) = dispatcher.messages
    assert message["text"].endswith("要听办理步骤吗？")
    assert message["custom"]["expect"] == YES_NO


async def test_a_final_answer_expects_nothing() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker([user("高龄津贴去哪办")], slots={"service": "高龄津贴"})
    await ActionServiceLookup().run(dispatcher, tracker, {})
    (message,) = dispatcher.messages
    assert message["text"].endswith("还有别的事吗？") and "expect" not in message["custom"]
    # The task is done: the gateway counts it (and may ask for a rating).
    assert message["custom"]["task_done"] == {
        "task": "service_lookup",
        "service": "elderly_allowance",
    }
