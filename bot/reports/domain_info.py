"""What the gateway reads from Rasa's ``domain.yml``: the intents a reviewer may pick and
the texts of the bot's "not understood" replies.

The gateway never imports Rasa; the domain file is plain YAML next to it, so reading it is
the one way to offer the reviewer exactly the intents training knows, and to recognise a
fallback reply in the transcript without a new payload from the dialogue. Read once per
process (the file only changes with a new model, which means a restart).
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the app environment

logger = logging.getLogger(__name__)

DOMAIN_FILE = Path(__file__).resolve().parents[2] / "domain.yml"

# The responses the fallback actions answer with when they did not understand
# (actions/commands.py: ActionHandleFallback and the actions that share its answers).
FALLBACK_RESPONSES = (
    "utter_ask_rephrase",
    "utter_fallback_in_form",
    "utter_fallback_offer_human",
    "utter_noise",
)
# Intents a person cannot sensibly give an example of (Rasa's own fallback label).
_NOT_REVIEWABLE = frozenset({"nlu_fallback"})


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        logger.warning("cannot read %s: no intents or fallback texts", path, exc_info=True)
        return {}
    return data if isinstance(data, dict) else {}


def intents_in(domain: dict[str, Any]) -> list[str]:
    """The intent names of a parsed domain (plain names or ``{name: {...}}`` entries)."""
    names: list[str] = []
    for entry in domain.get("intents") or []:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, dict):
            names.extend(str(key) for key in entry)
    return [name for name in names if name not in _NOT_REVIEWABLE]


def fallback_texts_in(domain: dict[str, Any]) -> frozenset[str]:
    """The texts of `FALLBACK_RESPONSES` in a parsed domain."""
    responses = domain.get("responses") or {}
    texts: set[str] = set()
    for name in FALLBACK_RESPONSES:
        for variant in responses.get(name) or []:
            if isinstance(variant, dict) and isinstance(variant.get("text"), str):
                texts.add(variant["text"])
    return frozenset(texts)


@cache
def intents(path: Path = DOMAIN_FILE) -> tuple[str, ...]:
    """The intents a reviewer may choose from, in the domain's order."""
    return tuple(intents_in(_load(path)))


@cache
def fallback_texts(path: Path = DOMAIN_FILE) -> frozenset[str]:
    """The "not understood" reply texts of the domain."""
    return fallback_texts_in(_load(path))
