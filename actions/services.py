"""办事指南 (service lookup) and the nearest service centre by district."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.catalogue import find_center, find_service, load_centers, load_services
from actions.settings import ActionSettings

# Lists are read aloud: never more than three items in one breath.
MAX_SPOKEN_ITEMS = 3


def spoken_list(items: tuple[str, ...]) -> str:
    head = list(items[:MAX_SPOKEN_ITEMS])
    if len(head) <= 1:
        return "".join(head)
    return "、".join(head[:-1]) + "和" + head[-1]


class ValidateServiceLookupForm(FormValidationAction):
    def name(self) -> str:
        return "validate_service_lookup_form"

    def validate_service(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        services = load_services(ActionSettings.from_env().services_file)
        found = find_service(str(slot_value or ""), services)
        if found is None:
            dispatcher.utter_message(response="utter_service_not_found")
            return {"service": None}
        return {"service": found.name}


class ValidateServiceCenterForm(FormValidationAction):
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
            dispatcher.utter_message(response="utter_service_center_not_found")
            return {"district": None}
        return {"district": found.district}


class ActionServiceLookup(Action):
    def name(self) -> str:
        return "action_service_lookup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = load_services(ActionSettings.from_env().services_file)
        found = find_service(str(tracker.get_slot("service") or ""), services)
        if found is None:
            dispatcher.utter_message(response="utter_service_not_found")
            return []
        dispatcher.utter_message(
            response="utter_service_summary",
            service_name=found.name,
            where=found.where,
            materials=spoken_list(found.materials),
        )
        return []


class ActionFindServiceCenter(Action):
    def name(self) -> str:
        return "action_find_service_center"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        centers = load_centers(ActionSettings.from_env().centers_file)
        found = find_center(str(tracker.get_slot("district") or ""), centers)
        if found is None:
            dispatcher.utter_message(response="utter_service_center_not_found")
            return []
        dispatcher.utter_message(
            response="utter_service_center",
            district=found.district,
            address=found.address,
            hours=found.hours,
            phone=found.phone,
        )
        if found.access:
            dispatcher.utter_message(
                response="utter_service_center_access", access=spoken_list(found.access)
            )
        return []
