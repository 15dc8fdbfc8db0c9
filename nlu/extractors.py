"""Rasa entity extractors for ID numbers and mobile numbers in spoken input.

DIET cannot learn 18-digit checksums, and elderly users say their numbers in
characters (幺幺零幺...) with pauses, so these rule-based extractors run after
DIET.  Recognition itself lives in :mod:`nlu.number_entities` (no Rasa); the
classes here only adapt it to Rasa messages.  An ID number that fails the
GB 11643-1999 checks is reported as ``id_number_invalid`` with a ``problem``
so the bot can ask the user to repeat it -- it is never silently accepted or
dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import ENTITY_ATTRIBUTE_CONFIDENCE_TYPE
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from nlu.number_entities import (
    ID_NUMBER,
    ID_NUMBER_INVALID,
    PHONE_NUMBER,
    NumberEntity,
    find_number_entities,
)

logger = logging.getLogger(__name__)

#: Extra key on ``id_number_invalid`` entities: "length", "format",
#: "birth_date" or "checksum" (see ``nlu.id_card.IdProblem``).
ENTITY_ATTRIBUTE_PROBLEM = "problem"


class NumberEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Shared base: run :func:`find_number_entities` and add some entity types.

    Subclasses only choose which entity types they own, so ID and phone
    extraction can be switched on independently in the pipeline while the
    recognition (and its splitting of "ID, phone" said in one breath) is
    identical for both.  Not trainable: nothing is learned or persisted.
    """

    #: Entity types this extractor adds to messages.
    ENTITY_TYPES: frozenset[str] = frozenset()

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No options yet; the rules are fixed by the national standards."""
        return {}

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the (currently unused) config for forward compatibility."""
        self._config = {**self.get_default_config(), **config}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> NumberEntityExtractor:
        """Creates the component (see parent class for full docstring)."""
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        """Append this extractor's entities to each message's ``entities``.

        Existing entities (DIET's, other extractors') are kept.  If another
        extractor already reported the same entity type on the same span, no
        duplicate is added; instead its value is replaced by the normalised
        digits (and this extractor is listed in its ``processors``) so that
        downstream code always receives ``110105...`` rather than ``幺幺零...``.
        """
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            entities = list(message.get(ENTITIES, []))
            for found in find_number_entities(text):
                if found.entity not in self.ENTITY_TYPES:
                    continue
                existing = self._same_span(entities, found)
                if existing is None:
                    entities.append(self._to_rasa_entity(found))
                elif existing.get(EXTRACTOR) != self.name:
                    existing[ENTITY_ATTRIBUTE_VALUE] = found.value
                    self.add_processor_name(existing)
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    @staticmethod
    def _same_span(entities: list[dict[str, Any]], found: NumberEntity) -> dict[str, Any] | None:
        """The existing entity of the same type on exactly the same span, if any."""
        for entity in entities:
            if (
                entity.get(ENTITY_ATTRIBUTE_TYPE) == found.entity
                and entity.get(ENTITY_ATTRIBUTE_START) == found.start
                and entity.get(ENTITY_ATTRIBUTE_END) == found.end
            ):
                return entity
        return None

    def _to_rasa_entity(self, found: NumberEntity) -> dict[str, Any]:
        """Rasa's entity dict; rule-based, so confidence is 1.0."""
        entity: dict[str, Any] = {
            ENTITY_ATTRIBUTE_TYPE: found.entity,
            ENTITY_ATTRIBUTE_START: found.start,
            ENTITY_ATTRIBUTE_END: found.end,
            ENTITY_ATTRIBUTE_VALUE: found.value,
            EXTRACTOR: self.name,
            "confidence": 1.0,
            # what `rasa test` reads when it reports entity confidences
            ENTITY_ATTRIBUTE_CONFIDENCE_TYPE: 1.0,
        }
        if found.problem is not None:
            entity[ENTITY_ATTRIBUTE_PROBLEM] = found.problem
        return entity


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class IdNumberExtractor(NumberEntityExtractor):
    """Extracts ``id_number`` (checked) and ``id_number_invalid`` (with problem)."""

    ENTITY_TYPES = frozenset({ID_NUMBER, ID_NUMBER_INVALID})


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class PhoneNumberExtractor(NumberEntityExtractor):
    """Extracts mainland mobile numbers (11 digits, 1[3-9]...) as ``phone_number``."""

    ENTITY_TYPES = frozenset({PHONE_NUMBER})
