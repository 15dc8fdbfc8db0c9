"""社保待遇资格认证 (pension qualification authentication) and "did it go through?"."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import expect
from actions.cycle import CycleSettings, CycleState
from actions.id_groups import correct_group, is_valid, readback
from actions.no_progress import GuardedFormValidation
from actions.on_behalf import HelperLedger, elder_agrees, for_someone_else, relation_in
from actions.outcome import custom, helper_ref, identified, resident_ref, task_done
from actions.pending import complete_pending, keep, pending
from actions.privacy import forget_helper, forget_identity
from actions.registry import (
    Assistance,
    Registry,
    RegistryUnavailable,
    refusal,
    registry_from_settings,
)
from actions.settings import ActionSettings
from actions.speech import clean_person_name, spoken_date
from nlu.id_card import IdProblem, mask_id_number, validate_id_number
from nlu.name_sound import NameMatch
from nlu.name_words import describe_name
from nlu.person_names import complete_name, name_in_sentence, read_name

logger = logging.getLogger(__name__)

_PROBLEM_RESPONSES: dict[str, str] = {
    IdProblem.LENGTH.value: "utter_invalid_id_length",
    IdProblem.BIRTH_DATE.value: "utter_invalid_id_birth_date",
    IdProblem.CHECKSUM.value: "utter_invalid_id_checksum",
    IdProblem.FORMAT.value: "utter_invalid_id_checksum",
}

FORM = "social_security_auth_form"
# Not found / name mismatch may be a misheard digit: two more tries, then a person helps.
MAX_VERIFICATION_FAILURES = 3

_registry: Registry | None = None


def get_registry() -> Registry:
    """The registry used by the running action server, created on first use."""
    global _registry
    if _registry is None:
        _registry = registry_from_settings(ActionSettings.from_env())
    return _registry


_cycle: CycleSettings | None = None


def get_cycle() -> CycleSettings:
    """Each region's authentication cycle, read from the settings on first use."""
    global _cycle
    if _cycle is None:
        _cycle = ActionSettings.from_env().auth_cycle
    return _cycle


def set_cycle(cycle: CycleSettings | None) -> None:
    """Swap the cycle settings (tests)."""
    global _cycle
    _cycle = cycle


_ledger: HelperLedger | None = None


def get_ledger() -> HelperLedger:
    """Who helped whom (keyed references), next to the other action-server files."""
    global _ledger
    if _ledger is None:
        _ledger = HelperLedger(ActionSettings.from_env().pending_db.with_name("assisted.sqlite3"))
    return _ledger


def set_ledger(ledger: HelperLedger | None) -> None:
    """Swap the helper ledger (tests)."""
    global _ledger
    _ledger = ledger


def _helping(tracker: Tracker) -> bool:
    """Helper mode: set earlier, being asked, or asked for in the words that start the task."""
    if tracker.get_slot("helping") is True or tracker.get_slot("requested_slot") in (
        "helper_relation",
        "elder_consent",
    ):
        return True
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = tracker.latest_message.get("text") or ""
    return intent == "social_security_auth" and for_someone_else(text)


_settling: asyncio.Task[None] | None = None


async def _settle_quietly(registry: Registry) -> None:
    try:
        settled = await complete_pending(registry, get_cycle())
        logger.info("settled %d certification(s) kept while the registry was down", settled)
    except Exception:  # a background chore: log, never break a conversation
        logger.exception("could not settle kept certifications")


def settle_kept_requests() -> asyncio.Task[None] | None:
    """The registry answers again: finish, in the background, what was kept while it was down.

    So a resident told "您的申请已经记下了" does not have to come back. At most one run at a time.
    """
    global _settling
    if (_settling is not None and not _settling.done()) or not pending():
        return None
    _settling = asyncio.create_task(_settle_quietly(get_registry()))
    return _settling


def set_registry(registry: Registry | None) -> None:
    """Swap the registry (tests, or a deployment wiring an HTTP registry client)."""
    global _registry
    _registry = registry


def _say_id_problem(dispatcher: CollectingDispatcher, problem: str, digits: str) -> None:
    response = _PROBLEM_RESPONSES.get(problem, "utter_invalid_id_checksum")
    dispatcher.utter_message(response=response, digit_count=len(digits))


class IdNumberValidation:
    """Shared by every form that asks for an ID number."""

    def extract_id_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Tell the user at once when what they said looks like a wrong ID number."""
        entities = tracker.latest_message.get("entities") or []
        if any(e.get("entity") == "id_number" for e in entities):
            return {}
        for entity in entities:
            if entity.get("entity") == "id_number_invalid":
                _say_id_problem(
                    dispatcher, str(entity.get("problem")), str(entity.get("value", ""))
                )
                return {"id_number": None}
        return {}

    def validate_id_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if slot_value is None:  # already explained by extract_id_number
            return {"id_number": None}
        value = str(slot_value).upper()
        problem = validate_id_number(value)
        if problem is not None:
            _say_id_problem(dispatcher, problem.value, value)
            return {"id_number": None}
        # A new number must be read back and confirmed again.
        return {"id_number": value, "id_readback": readback(value), "id_confirmed": None}


def _yes_or_no(tracker: Tracker) -> bool | None:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return {"affirm": True, "deny": False}.get(str(intent))


class ValidateSocialSecurityAuthForm(IdNumberValidation, GuardedFormValidation):
    def name(self) -> str:
        return "validate_social_security_auth_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """A name that matched only by sound must be confirmed before anything is recorded.

        A helper says first how they are related, and the elder agrees last, in person.
        """
        slots = list(domain_slots)
        if tracker.get_slot("name_match") == NameMatch.BY_SOUND.value:
            slots.append("name_confirmed")
        if _helping(tracker):
            # `helping` is never asked: it is filled from the words that start the task
            # (only slots the form requires survive rasa_sdk's extraction step).
            slots = ["helping", "helper_relation", *slots, "elder_consent"]
        return slots

    def extract_helping(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Only once: a slot filled again every turn would keep the form from letting go
        # of a 取消 or 转人工 (the form counts as having understood).
        if tracker.get_slot("helping") is not True and _helping(tracker):
            return {"helping": True}
        return {}

    def extract_helper_relation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """子女 / 配偶 / … from the answer, or already from "我帮我妈认证"."""
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("requested_slot") == "helper_relation":
            relation = relation_in(text)
            return {"helper_relation": relation} if relation else {}
        if tracker.get_slot("helper_relation") is None and _helping(tracker):
            relation = relation_in(text)
            return {"helper_relation": relation} if relation else {}
        return {}

    def extract_elder_consent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The elder's own words: 同意认证, or a refusal. Anything else is asked again."""
        if tracker.get_slot("requested_slot") != "elder_consent":
            return {}
        agrees = elder_agrees(tracker.latest_message.get("text") or "")
        return {} if agrees is None else {"elder_consent": agrees}

    def extract_person_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Asked for the name, the whole answer is the name when it reads as one.

        A partial DIET entity (文华 of 孙文华) or an intent guess (吴霞 as affirm) never wins
        over a whole-name reading. Not asked, a name introduced in passing (我叫…) counts.
        """
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("requested_slot") == "person_name":
            reading = read_name(text)
            return {"person_name": reading.name} if reading else {}
        entities = tracker.latest_message.get("entities") or []
        if tracker.get_slot("person_name") is None and not any(
            e.get("entity") == "person_name" for e in entities
        ):
            found = name_in_sentence(text)
            return {"person_name": found} if found else {}
        return {}

    def validate_person_name(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        value = complete_name(str(slot_value or ""), tracker.latest_message.get("text") or "")
        name = clean_person_name(value)
        if name is None:
            dispatcher.utter_message(response="utter_invalid_name")
        # A new name is compared with the registry again.
        return {"person_name": name, "name_match": None, "name_confirmed": None}

    async def validate_id_confirmed(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Once the number is confirmed, see how the name matches: by sound needs a yes."""
        if slot_value is not True:
            return {"id_confirmed": slot_value}
        id_number = str(tracker.get_slot("id_number") or "")
        name = str(tracker.get_slot("person_name") or "")
        try:
            checked = await get_registry().verify(id_number, name)
        except RegistryUnavailable:  # the submit step keeps the request
            return {"id_confirmed": True, "name_match": None}
        confirmed = {"id_confirmed": True, "name_match": checked.name_match.value}
        if tracker.get_slot("helping") is True and not _may_help(tracker, id_number):
            # Nothing more to ask: the submit step says why it stops.
            return {**confirmed, "name_confirmed": False, "elder_consent": False,
                    "assist_refused": "limit"}  # fmt: skip
        return confirmed

    def extract_name_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """对 / 不对 to the registered name read out in words."""
        if tracker.get_slot("requested_slot") != "name_confirmed":
            return {}
        answer = _yes_or_no(tracker)
        return {} if answer is None else {"name_confirmed": answer}

    def extract_id_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes, no, or a correction of one group ("不对，出生日期是一九四九一零零二")."""
        if tracker.get_slot("requested_slot") != "id_confirmed":
            return {}
        entities = tracker.latest_message.get("entities") or []
        if any(e.get("entity") in ("id_number", "id_number_invalid") for e in entities):
            return {}  # a whole new number: extract/validate_id_number deal with it
        current = str(tracker.get_slot("id_number") or "")
        corrected = correct_group(current, tracker.latest_message.get("text") or "")
        # Only form slots survive rasa_sdk's validation step: id_readback is derived again
        # by validate_id_number from the corrected number.
        if corrected is not None:
            if is_valid(corrected):
                return {"id_number": corrected, "id_confirmed": None}
            dispatcher.utter_message(response="utter_id_correction_invalid")
            return {"id_number": None, "id_confirmed": None}
        answer = _yes_or_no(tracker)
        if answer is True:
            return {"id_confirmed": True}
        if answer is False:
            return {"id_number": None, "id_confirmed": None}
        return {}


class ActionAskNameConfirmed(Action):
    """Reads the registered name out in words, only to someone whose answer sounded like it."""

    def name(self) -> str:
        return "action_ask_name_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        said = str(tracker.get_slot("person_name") or "")
        try:
            checked = await get_registry().verify(str(tracker.get_slot("id_number") or ""), said)
        except RegistryUnavailable:
            dispatcher.utter_message(response="utter_auth_registry_unavailable")
            return []
        if checked.resident is None or checked.name_match is not NameMatch.BY_SOUND:
            # The registry changed in between: no name is revealed, the form goes on.
            return [
                SlotSet("name_match", checked.name_match.value),
                SlotSet("name_confirmed", False),
            ]
        dispatcher.utter_message(
            response="utter_confirm_registered_name",
            registered_name=checked.resident.name,
            spelling=describe_name(checked.resident.name, said),
        )
        return []


class ValidateAuthStatusForm(IdNumberValidation, GuardedFormValidation):
    def name(self) -> str:
        return "validate_auth_status_form"


def _may_help(tracker: Tracker, id_number: str) -> bool:
    limit = ActionSettings.from_env().helper_limit
    return get_ledger().may_help(
        helper_ref(tracker.sender_id), resident_ref(id_number), limit, datetime.now()
    )


def _retry_or_hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, result: str
) -> list[EventType]:
    """Ask again after a failed verification; the third failure goes to a person."""
    failures = int(tracker.get_slot("auth_failures") or 0) + 1
    if failures >= MAX_VERIFICATION_FAILURES:
        dispatcher.utter_message(response="utter_auth_handoff")
        return [
            SlotSet("auth_failures", 0),
            *forget_identity(),
            *forget_helper(tracker.get_slot("helping") is True),
        ]
    dispatcher.utter_message(response=f"utter_auth_{result}")
    events: list[EventType] = [SlotSet("auth_failures", failures), *forget_identity()]
    if result == "name_mismatch":
        events.append(SlotSet("person_name", None))
    # Re-open the form: it asks for what was cleared, nothing else.
    return [*events, SlotSet("requested_slot", None), ActiveLoop(FORM)]


class ActionSubmitAuth(Action):
    """Verifies the resident against the registry and records the certification when due."""

    def name(self) -> str:
        return "action_submit_auth"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        id_number = str(tracker.get_slot("id_number") or "")
        name = str(tracker.get_slot("person_name") or "")
        now = datetime.now()
        relation = str(tracker.get_slot("helper_relation") or "") or None
        if tracker.get_slot("helping") is True:
            if stopped := self._helper_stops(dispatcher, tracker):
                logger.info("assisted authentication of %s: %s", mask_id_number(id_number), stopped)
                return [*forget_identity(), *forget_helper(helping=True)]
        else:
            relation = None
        try:
            result, events = await self._verify(dispatcher, tracker, id_number, name, now, relation)
        except RegistryUnavailable:
            result = "registry_unavailable"
            logger.warning("registry unavailable for %s", mask_id_number(id_number))
            # Completed later by actions.pending: nothing lost.
            keep(id_number, name, now, relation)
            dispatcher.utter_message(
                response="utter_auth_registry_unavailable",
                json_message=custom(expect.yes_no(), task_done("pension_auth")),
            )
            events = [*forget_identity(), *forget_helper(relation is not None)]
        logger.info("authentication of %s: %s", mask_id_number(id_number), result)
        return [SlotSet("auth_result", result), *events]

    @staticmethod
    def _helper_stops(dispatcher: CollectingDispatcher, tracker: Tracker) -> str | None:
        """Why an assisted authentication ends here: the helper's limit, or the elder's no."""
        if tracker.get_slot("assist_refused") == "limit":
            limit = ActionSettings.from_env().helper_limit
            dispatcher.utter_message(response="utter_helper_limit", limit=limit)
            return "helper_limit"
        if tracker.get_slot("elder_consent") is not True:
            dispatcher.utter_message(response="utter_elder_refused")
            return "elder_refused"
        return None

    async def _verify(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        id_number: str,
        name: str,
        now: datetime,
        relation: str | None,
    ) -> tuple[str, list[EventType]]:
        checked = await get_registry().verify(id_number, name)
        resident = checked.resident
        settle_kept_requests()
        confirmed = tracker.get_slot("name_confirmed") is True
        cycle = get_cycle()
        refused = refusal(
            resident, name, now.year, sound_confirmed=confirmed, on=now.date(), cycle=cycle
        )
        if refused in ("not_found", "name_mismatch"):
            return refused, _retry_or_hand_off(dispatcher, tracker, refused)
        found = resident
        assert found is not None
        done = [
            SlotSet("auth_failures", 0),
            *forget_identity(),
            *forget_helper(relation is not None),
        ]
        if refused == "already_certified":  # too early in the cycle: not needed yet
            assert found.last_certified is not None
            due = cycle.next_due(found.last_certified, found.district)
            dispatcher.utter_message(
                response="utter_auth_already_certified",
                certified_on=spoken_date(found.last_certified),
                due=spoken_date(due),
                json_message=custom(
                    task_done("pension_auth"),
                    {} if relation else identified(id_number, due, found.suspended),
                ),
            )
            return "already_certified", done
        assisted = Assistance(relation) if relation else None
        await get_registry().record_certification(id_number, now, assisted)
        if relation:
            get_ledger().record(
                helper_ref(tracker.sender_id), resident_ref(id_number), relation, now
            )
            logger.info(
                "assisted authentication of %s recorded: helper is %s, resident confirmed",
                mask_id_number(id_number),
                relation,
            )
        due = cycle.next_due(now.date(), found.district)
        # A suspended payment resumes next month with the missed months paid (补发).
        # A helper's channel is not linked to the elder (a helper's 删除我的记录 must not
        # reach the elders' own conversations), so it gets no reminders for them either.
        told = [task_done("pension_auth")]
        if not relation:
            told.append(identified(id_number, due, False))
        dispatcher.utter_message(
            response="utter_auth_success_resumed" if found.suspended else "utter_auth_success",
            due=spoken_date(due),
            json_message=custom(*told),
        )
        if not relation:
            dispatcher.utter_message(response="utter_ask_reminder_consent")
        return "success", done


class ActionCheckAuthStatus(Action):
    """Tells whether the certification of the current cycle is done, and until when."""

    def name(self) -> str:
        return "action_check_auth_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        id_number = str(tracker.get_slot("id_number") or "")
        try:
            resident = await get_registry().find(id_number)
        except RegistryUnavailable:
            dispatcher.utter_message(response="utter_status_registry_unavailable")
            return forget_identity()
        if resident is None:
            dispatcher.utter_message(response="utter_status_not_found")
            return forget_identity()
        cycle = get_cycle().cycle(resident.last_certified, resident.district, date.today())
        due = spoken_date(cycle.due) if cycle.due else None
        if cycle.state is CycleState.DONE:
            answer = "utter_status_done"
        elif resident.suspended:
            answer = "utter_status_suspended"
        elif cycle.state is CycleState.DUE:
            answer = "utter_status_due"
        elif cycle.state is CycleState.EXPIRED:
            answer = "utter_status_expired"
        else:
            answer = "utter_status_not_done"
        told = custom(
            task_done("auth_status"), identified(id_number, cycle.due, resident.suspended)
        )
        dispatcher.utter_message(response=answer, due=due, json_message=told)
        return forget_identity()
