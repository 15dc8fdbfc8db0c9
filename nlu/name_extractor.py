"""Rasa component: person names come out whole from `/model/parse` too.

DIET tags names said in passing but drops surnames it has not seen (孙文华 → 文华) and
misses many names altogether. After DIET, this component puts the surname back on a
tagged name (`nlu.person_names.complete_name`), and adds a name that is introduced
(我叫… / 我是… / 名字是…) or makes up the whole utterance when DIET found none. Forms read
the whole answer themselves (actions/auth.py); this keeps the parse honest for every
other consumer (conversation tests, logs, the evaluation).
"""

from __future__ import annotations

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

from nlu.person_names import complete_name, name_in_sentence, read_name

PERSON_NAME = "person_name"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class PersonNameExtractor(GraphComponent, EntityExtractorMixin):
    """Completes and adds ``person_name`` entities by the rules of Chinese names."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PersonNameExtractor:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            entities = list(message.get(ENTITIES, []))
            names = [e for e in entities if e.get(ENTITY_ATTRIBUTE_TYPE) == PERSON_NAME]
            for entity in names:
                self._complete(entity, str(text))
            if not names:
                found = self._introduced(str(text))
                if found is not None:
                    entities.append(found)
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    def _complete(self, entity: dict[str, Any], text: str) -> None:
        value = str(entity.get(ENTITY_ATTRIBUTE_VALUE) or "")
        whole = complete_name(value, text)
        if whole == value:
            return
        start = text.find(whole)
        entity[ENTITY_ATTRIBUTE_VALUE] = whole
        if start >= 0:
            entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END] = start, start + len(whole)
        self.add_processor_name(entity)

    def _introduced(self, text: str) -> dict[str, Any] | None:
        reading = read_name(text)
        name = reading.name if reading else name_in_sentence(text)
        start = text.find(name) if name else -1
        if name is None or start < 0:
            return None
        return {
            ENTITY_ATTRIBUTE_TYPE: PERSON_NAME,
            ENTITY_ATTRIBUTE_START: start,
            ENTITY_ATTRIBUTE_END: start + len(name),
            ENTITY_ATTRIBUTE_VALUE: name,
            EXTRACTOR: self.name,
            "confidence": 1.0,
            ENTITY_ATTRIBUTE_CONFIDENCE_TYPE: 1.0,  # what `rasa test` reads
        }
