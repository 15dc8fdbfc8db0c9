"""The training and held-out data agree with the number extractors and each other."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from nlu.id_card import is_valid_id_number
from nlu.number_entities import find_number_entities

ROOT = Path(__file__).resolve().parents[3]
TRAINING = sorted((ROOT / "data" / "nlu").glob("*.yml"))
HELDOUT = ROOT / "tests" / "data" / "nlu_heldout.yml"
RULE_BASED = {"id_number", "id_number_invalid", "phone_number"}


@pytest.fixture(scope="module")
def heldout():
    return load_data(str(HELDOUT)).intent_examples


@pytest.fixture(scope="module")
def training():
    return [m for path in TRAINING for m in load_data(str(path)).intent_examples]


def test_held_out_numbers_are_exactly_what_the_extractors_find(heldout):
    checked = 0
    for message in heldout:
        gold = {
            (e["entity"], str(e["value"]), e["start"], e["end"])
            for e in message.get("entities") or []
            if e["entity"] in RULE_BASED
        }
        found = {
            (e.entity, e.value, e.start, e.end) for e in find_number_entities(message.get("text"))
        }
        assert found == gold, message.get("text")
        checked += len(gold)
    assert checked >= 30


def test_every_annotated_id_number_is_valid(heldout):
    values = [
        str(e["value"])
        for m in heldout
        for e in m.get("entities") or []
        if e["entity"] == "id_number"
    ]
    assert len(values) >= 25
    assert all(is_valid_id_number(v) for v in values), values


def test_training_leaves_numbers_to_the_rule_based_extractors(training):
    annotated = [
        m.get("text")
        for m in training
        if any(e["entity"] in RULE_BASED for e in m.get("entities") or [])
    ]
    assert annotated == []


def test_held_out_never_overlaps_training(training, heldout):
    assert not {m.get("text") for m in training} & {m.get("text") for m in heldout}


def test_enough_examples_per_intent(training):
    counts: dict[str, int] = {}
    for message in training:
        counts[message.get("intent")] = counts.get(message.get("intent"), 0) + 1
    tasks = ["social_security_auth", "check_auth_status", "service_lookup", "find_service_center"]
    assert all(counts[intent] >= 25 for intent in tasks), counts
