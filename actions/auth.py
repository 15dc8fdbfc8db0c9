"""社保待遇资格认证 (pension qualification authentication) and "did it go through?"."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.registry import Registry, RegistryUnavailable, SqliteRegistry
from actions.settings import ActionSettings
from actions.speech import clean_person_name, spoken_date
from nlu.id_card import IdProblem, mask_id_number, validate_id_number

logger = logging.getLogger(__name__)

_PROBLEM_RESPONSES: dict[str, str] = {
    IdProblem.LENGTH.value: "utter_invalid_id_length",
    IdProblem.BIRTH_DATE.value: "utter_invalid_id_birth_date",
    IdProblem.CHECKSUM.value: "utter_invalid_id_checksum",
    IdProblem.FORMAT.value: "utter_invalid_id_checksum",
}

_registry: Registry | None = None


def get_registry() -> Registry:
    """The registry used by the running action server, created on first use."""
    global _registry
    if _registry is None:
        settings = ActionSettings.from_env()
        _registry = SqliteRegistry(settings.registry_db, settings.residents_seed)
    return _registry


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
        return {"id_number": value}


class ValidateSocialSecurityAuthForm(IdNumberValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_social_security_auth_form"

    def validate_person_name(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        name = clean_person_name(str(slot_value or ""))
        if name is None:
            dispatcher.utter_message(response="utter_invalid_name")
        return {"person_name": name}


class ValidateAuthStatusForm(IdNumberValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_auth_status_form"


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _certified_this_year(last: date | None, today: date) -> bool:
    return last is not None and last.year == today.year


def _forget_identity() -> list[EventType]:
    """After a task the full ID number must not stay in the conversation."""
    return [SlotSet("id_number", None)]


class ActionSubmitAuth(Action):
    """Verifies the resident against the registry and records this year's certification."""

    def name(self) -> str:
        return "action_submit_auth"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        id_number = str(tracker.get_slot("id_number") or "")
        name = str(tracker.get_slot("person_name") or "")
        now = datetime.now()
        try:
            resident = await get_registry().find(id_number)
            if resident is None:
                result = "not_found"
                dispatcher.utter_message(response="utter_auth_not_found")
            elif resident.name != name:
                result = "name_mismatch"
                dispatcher.utter_message(response="utter_auth_name_mismatch")
            elif _certified_this_year(resident.last_certified, now.date()):
                result = "already_certified"
                assert resident.last_certified is not None
                dispatcher.utter_message(
                    response="utter_auth_already_certified",
                    certified_on=spoken_date(resident.last_certified),
                )
            else:
                await get_registry().record_certification(id_number, now)
                result = "success"
                valid_until = _one_year_after(now.date())
                dispatcher.utter_message(
                    response="utter_auth_success", valid_until=spoken_date(valid_until)
                )
        except RegistryUnavailable:
            result = "registry_unavailable"
            logger.warning("registry unavailable for %s", mask_id_number(id_number))
            dispatcher.utter_message(response="utter_auth_registry_unavailable")
        logger.info("authentication of %s: %s", mask_id_number(id_number), result)
        return [SlotSet("auth_result", result), *_forget_identity()]


class ActionCheckAuthStatus(Action):
    """Tells whether this year's certification is done."""

    def name(self) -> str:
        return "action_check_auth_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        id_number = str(tracker.get_slot("id_number") or "")
        try:
            resident = await get_registry().find(id_number)
        except RegistryUnavailable:
            dispatcher.utter_message(response="utter_auth_registry_unavailable")
            return _forget_identity()
        if resident is None:
            dispatcher.utter_message(response="utter_auth_not_found")
        elif resident.last_certified and _certified_this_year(
            resident.last_certified, date.today()
        ):
            dispatcher.utter_message(
                response="utter_status_done", certified_on=spoken_date(resident.last_certified)
            )
        else:
            dispatcher.utter_message(response="utter_status_not_done")
        return _forget_identity()
