"""办事指南 (service lookup) and the nearest service centre by district.

The lookup form asks which service; ``validate_service`` finds it in what the user said
(``actions.service_search``) or asks which of two or three it was. ``action_service_lookup``
then answers the part the user asked about (materials, steps, where, hours …) or, when they
only named the service, where to go and what to bring, and offers the steps. Lists are read
three items at a time; what is offered next is kept in ``service_offer`` for
``action_service_more``, which ``action_answer_yes_no`` runs on a "yes". All wording is in
``actions.service_replies``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import expect
from actions.catalogue import (
    Service,
    find_center,
    load_centers,
    load_services,
    service_named,
    service_with_id,
)
from actions.conversation import last_bot_turn
from actions.no_progress import GuardedFormValidation
from actions.outcome import custom, task_done
from actions.service_replies import (
    CENTER_NOT_FOUND,
    NO_OFFER,
    Aspect,
    Offer,
    Reply,
    aspect_reply,
    center_replies,
    choice_buttons,
    choice_question,
    list_reply,
    not_found,
    summary_reply,
)
from actions.service_search import Decision, ServiceSearch, Verdict, search_for
from actions.settings import ActionSettings

logger = logging.getLogger(__name__)

FORM = "service_lookup_form"
SERVICE_SLOT = "service"
OFFER_SLOT = "service_offer"
ASK_SERVICE_RESPONSE = "utter_ask_service_lookup_form_service"
_ANSWER_ACTIONS = frozenset({"action_service_lookup", "action_service_more"})

#: Words that show which part of a service the user asks about. The earliest in the
#: sentence wins ("要带啥 在哪办" asks about materials first).
ASPECT_WORDS: dict[Aspect, tuple[str, ...]] = {
    Aspect.MATERIALS: ("材料", "带什么", "带啥", "要带", "证件", "什么东西", "啥东西", "准备啥"),
    Aspect.STEPS: (
        "步骤",
        "流程",
        "怎么办",
        "咋办",
        "怎么弄",
        "咋弄",
        "怎么申请",
        "咋申请",
        "怎么领",
        "咋领",
        "手续",
    ),
    Aspect.WHERE: ("在哪", "哪里", "哪儿", "地址", "去哪", "啥地方", "什么地方"),
    Aspect.HOURS: ("几点", "时间", "开门", "关门", "上班", "下班"),
    Aspect.PHONE: ("电话", "热线"),
    Aspect.FEE: ("多少钱", "费用", "收费", "收钱", "要钱", "花钱", "交多少", "收不收"),
    Aspect.ELIGIBILITY: (
        "条件",
        "资格",
        "能不能办",
        "能办吗",
        "能办不",
        "能不能领",
        "能领吗",
        "能领不",
        "谁能",
    ),
    Aspect.ONLINE: ("网上", "手机", "小程序", "app", "线上", "微信", "支付宝"),
}

# "第二个", "第3个", "最后那个": a choice among the buttons of the previous question.
_POSITION = re.compile(r"第\s*([一二两三123])|(最后|后面|下面)")
_POSITION_INDEX = {"一": 0, "1": 0, "二": 1, "两": 1, "2": 1, "三": 2, "3": 2}
# "是的" to "您问的是高龄津贴吗？": yes to the only name offered.
_YES = re.compile(r"(是的?|对的?|嗯+|好的?|行|没错|就是它?|可以)[啊呀吧。！!，,\s]*")


def _catalogue() -> tuple[tuple[Service, ...], ServiceSearch]:
    path = ActionSettings.from_env().services_file
    return load_services(path), search_for(path)


def detect_aspect(text: str, service: Service | None = None) -> Aspect | None:
    """The part of a service ``text`` asks about first, or None.

    The service's own names are blanked out first: 退休手续 is not a question about 手续,
    手机社保卡 not one about 手机.
    """
    text = text.lower()
    if service is not None:
        for term in sorted(service.terms, key=len, reverse=True):
            text = text.replace(term, " ")
    found = [
        (index, -len(word), aspect)
        for aspect, words in ASPECT_WORDS.items()
        for word in words
        if (index := text.find(word)) >= 0
    ]
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


def _said(text: str | None) -> str:
    """What the user said, or "" for a button payload such as ``/inform{...}``."""
    text = (text or "").strip()
    return "" if text.startswith("/") else text


def _confident_service(text: str | None) -> Service | None:
    """The service the whole sentence names, when the search is sure of it."""
    sentence = _said(text)
    return _catalogue()[1].decide(sentence).service if sentence else None


def lookup_texts(tracker: Tracker) -> list[str]:
    """What the user said during the current lookup, newest first.

    Back to the message that started the lookup form, so that "补贴要带啥" still asks about
    materials after the user picked 高龄津贴 from the buttons. Without a form (a follow-up
    question answered directly), only the latest message.
    """
    texts: list[str] = []
    started = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "action" and event.get("name") in _ANSWER_ACTIONS:
            break
        if kind == "active_loop" and event.get("name") == FORM:
            started = True
        elif kind == "user":
            texts.append(_said(event.get("text")))
            if started:
                break
    if not started:
        texts = texts[:1] or [_said(tracker.latest_message.get("text"))]
    return [text for text in texts if text]


def _offered_names(tracker: Tracker) -> list[str]:
    """The service names on the buttons of the bot's previous turn, in order."""
    names = []
    for message in last_bot_turn(tracker):
        for button in message.buttons:
            payload = str(button.get("payload") or "")
            if payload.startswith("/inform{"):
                try:
                    name = json.loads(payload.removeprefix("/inform")).get("service")
                except (ValueError, AttributeError):
                    continue
                if name:
                    names.append(str(name))
    return names


def chosen_from_offer(text: str, tracker: Tracker) -> str | None:
    """The name the user picked from the previous question's buttons by voice, or None.

    Voice users do not see the buttons: they say which one ("第二个", "最后那个"), or yes
    when only one name was offered. (A yes reaches this validation only if the form's
    ``service`` mapping takes the ``affirm`` intent.)
    """
    names = _offered_names(tracker)
    if not names:
        return None
    if len(names) == 1 and _YES.fullmatch(text.strip()):
        return names[0]
    found = _POSITION.search(text)
    if not found:
        return None
    index = -1 if found.group(2) else _POSITION_INDEX[found.group(1)]
    return names[index] if index < len(names) else None


def asked_this_turn(tracker: Tracker) -> bool:
    """Whether the bot already asked a question since the user last spoke (one per turn)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (
            "？" in (event.get("text") or "") or (event.get("data") or {}).get("buttons")
        ):
            return True
    return False


def _decide(search: ServiceSearch, value: str, tracker: Tracker) -> Decision:
    """Decide on the slot value; if that is unclear, on the whole sentence it came from.

    An entity ("补贴") can be vaguer than the sentence around it ("八十岁老人的补贴").
    """
    decision = search.decide(value)
    sentence = _said(tracker.latest_message.get("text"))
    if decision.verdict is Verdict.CONFIDENT or not sentence or sentence == value:
        return decision
    if value not in sentence:
        return decision
    wider = search.decide(sentence)
    if wider.verdict is Verdict.CONFIDENT or decision.verdict is Verdict.NOT_FOUND:
        return wider
    return decision


class ValidateServiceLookupForm(GuardedFormValidation):
    def name(self) -> str:
        return "validate_service_lookup_form"

    def extract_service(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A service question without a tagged service may still name one in its words.

        DIET tags the names it was trained on; "老年食堂吃饭怎么报名" names 老年助餐 all
        the same, so the form does not ask "您要办哪一项？" when the search is sure.
        """
        message = tracker.latest_message
        if tracker.get_slot("requested_slot") or tracker.get_slot(SERVICE_SLOT):
            return {}
        if (message.get("intent") or {}).get("name") != "service_lookup":
            return {}
        if any(e.get("entity") == SERVICE_SLOT for e in message.get("entities") or []):
            return {}
        service = _confident_service(message.get("text"))
        return {SERVICE_SLOT: service.name} if service else {}

    def validate_service(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Confident → the official name; unclear → ask which one; nothing → say so."""
        _, search = _catalogue()
        value = str(slot_value or "").strip()
        decision = _decide(search, value, tracker)
        logger.info(
            "Service lookup: %s %s",
            decision.verdict.value,
            [(m.service.id, m.score) for m in decision.candidates],
        )
        if decision.service is not None:
            return {SERVICE_SLOT: decision.service.name}
        picked = chosen_from_offer(value, tracker)
        if picked is not None:
            return {SERVICE_SLOT: picked}
        if decision.verdict is Verdict.AMBIGUOUS:
            question, names = choice_question([m.service.name for m in decision.candidates])
            dispatcher.utter_message(
                text=question, buttons=choice_buttons(names), json_message=expect.choice(names)
            )
        else:
            dispatcher.utter_message(text=not_found())
        return {SERVICE_SLOT: None}


class ActionAskServiceLookupFormService(Action):
    """The form's question for ``service``, unless this turn has already asked one.

    When ``validate_service`` asked "您问的是A，还是B？" (or said it found nothing and asked
    again), the form's own "您要办哪一项？" would be a second question in the same turn.
    """

    def name(self) -> str:
        return "action_ask_service_lookup_form_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not asked_this_turn(tracker):
            dispatcher.utter_message(response=ASK_SERVICE_RESPONSE)
        return []


def _service_asked_about(
    tracker: Tracker, services: tuple[Service, ...], search: ServiceSearch
) -> Service | None:
    """The service of this answer: one the latest message names clearly, else the slot.

    The slot keeps the previous service, so "那低保呢" after a lookup completes the form
    at once with the old value; the latest message tells the new one.
    """
    latest = search.decide(_said(tracker.latest_message.get("text"))).service
    if latest is not None:
        return latest
    value = str(tracker.get_slot(SERVICE_SLOT) or "")
    return service_named(value, services) or search.decide(value).service


#: Catalogue entries the bot does as a task, not only describes.
TASK_SERVICES = frozenset({"pension_certification_help"})


def service_in_words(text: str | None) -> str | None:
    """The service a sentence clearly names, whatever intent NLU gave it (or None).

    "离婚证咋办" read as out of scope, or "残疾等级评定" as not understood, still name a
    service: the actions that answer "I did not understand" ask this first.
    """
    service = _confident_service(text)
    # Authentication is a task of its own: "我不想认证了" misread is no question about it.
    if service is None or service.id in TASK_SERVICES:
        return None
    return service.name


def answer_named_service(tracker: Tracker) -> list[EventType]:
    """Events answering the service the latest words name, when NLU missed the question.

    Empty when they name none: the caller says what it would have said.
    """
    service = service_in_words(tracker.latest_message.get("text"))
    if service is None:
        return []
    return [SlotSet(SERVICE_SLOT, service), FollowupAction("action_service_lookup")]


def _say(
    dispatcher: CollectingDispatcher, reply: Reply, done: dict[str, Any] | None = None
) -> SlotSet:
    # An offer to read on ("要继续听吗？") is answered yes or no.
    told = custom(expect.yes_no() if reply.offer else {}, done or {})
    dispatcher.utter_message(text=reply.text, json_message=told or None)
    return SlotSet(OFFER_SLOT, reply.offer.encode() if reply.offer else None)


class ActionServiceLookup(Action):
    def name(self) -> str:
        return "action_service_lookup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services, search = _catalogue()
        service = _service_asked_about(tracker, services, search)
        if service is None:
            dispatcher.utter_message(text=not_found())
            return [SlotSet(OFFER_SLOT, None)]
        events: list[EventType] = []
        if service.name != tracker.get_slot(SERVICE_SLOT):
            events.append(SlotSet(SERVICE_SLOT, service.name))
        aspect = next(
            (a for text in lookup_texts(tracker) if (a := detect_aspect(text, service))), None
        )
        reply = aspect_reply(service, aspect) if aspect else summary_reply(service)
        return [*events, _say(dispatcher, reply, task_done("service_lookup", service.id))]


class ActionServiceMore(Action):
    """Reads the next part of what the last answer offered (after the user said yes)."""

    def name(self) -> str:
        return "action_service_more"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services, _ = _catalogue()
        offer = Offer.parse(tracker.get_slot(OFFER_SLOT))
        service = service_with_id(offer.service_id, services) if offer else None
        if offer is None or service is None:
            dispatcher.utter_message(text=NO_OFFER)
            return [SlotSet(OFFER_SLOT, None)]
        return [_say(dispatcher, list_reply(service, offer.aspect, offer.start))]


class ValidateServiceCenterForm(GuardedFormValidation):
    def name(self) -> str:
        return "validate_service_center_form"

    def validate_district(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        centers = load_centers(ActionSettings.from_env().centers_file)
        found = find_center(str(slot_value or ""), centers)
        if found is None:
            dispatcher.utter_message(text=CENTER_NOT_FOUND)
            return {"district": None}
        return {"district": found.district}


class ActionFindServiceCenter(Action):
    def name(self) -> str:
        return "action_find_service_center"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        centers = load_centers(ActionSettings.from_env().centers_file)
        found = find_center(str(tracker.get_slot("district") or ""), centers)
        if found is None:
            dispatcher.utter_message(text=CENTER_NOT_FOUND)
            return []
        *first, last = center_replies(found)
        for text in first:
            dispatcher.utter_message(text=text)
        dispatcher.utter_message(text=last, json_message=task_done("service_lookup"))
        return []
