"""Rasa component: an utterance that is only noise is not understood, whatever DIET says.

Runs after DIET and before the FallbackClassifier. Noise (`nlu.noise.is_noise`) gets the
intent ``nlu_fallback`` with full confidence and loses DIET's entities, so no task starts
from babble and the bot answers "没听清，请再说一遍" (rules for ``nlu_fallback``).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.noise import is_noise

FALLBACK_INTENT = "nlu_fallback"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class NoiseFilter(GraphComponent):
    """Marks filler-only utterances as not understood. Not trainable: nothing is learned."""

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
    ) -> NoiseFilter:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text or not is_noise(text):
                continue
            noise = {"name": FALLBACK_INTENT, "confidence": 1.0}
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != FALLBACK_INTENT
            ]
            message.set(INTENT, noise, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [noise, *ranking], add_to_output=True)
            message.set(
                ENTITIES,
                [
                    e
                    for e in message.get(ENTITIES, [])
                    if e.get("entity") in ("id_number", "phone_number")
                ],
                add_to_output=True,
            )
        return messages
