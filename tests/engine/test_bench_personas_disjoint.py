"""The task benchmark's personas (scripts/task_personas.py) are not the training data.

A benchmark that says sentences the model was trained on measures memory, not
understanding. So no persona utterance may equal an NLU training example (annotations
stripped, spaces ignored), except the fixed words every user is told to say (对, 再说一遍 …).
Also checks that the personas vary the way the benchmark promises.

Here, not in tests/app: making personas needs pypinyin, which only the engine env has.
"""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from scripts.task_personas import (
    COMPOUND_SURNAMES,
    DEFAULT_COUNT,
    DEFAULT_SEED,
    FIXED_WORDS,
    IdStyle,
    Task,
    make_personas,
    split_name,
)

NLU_DIR = Path(__file__).resolve().parents[2] / "data" / "nlu"
# [王桂兰](person_name) and [朝阳](district) or [朝阳]{"entity": "district", ...}
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def _normal(text: str) -> str:
    return "".join(text.split())


def training_examples() -> set[str]:
    examples = set()
    for path in sorted(NLU_DIR.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in str(item.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.add(_normal(_ANNOTATION.sub(r"\1", line[2:])))
    return examples


@pytest.fixture(scope="module")
def personas():
    return make_personas(DEFAULT_COUNT, DEFAULT_SEED)


def test_the_training_data_is_read():
    examples = training_examples()
    assert len(examples) > 200
    assert "我叫王桂兰来做养老金认证的" in examples  # an annotated one, stripped


def test_no_persona_says_a_training_example(personas):
    examples = training_examples()
    said = {
        (persona.key, text)
        for persona in personas
        for text in persona.free_utterances()
        if text not in FIXED_WORDS
    }
    assert said
    assert [(key, text) for key, text in sorted(said) if _normal(text) in examples] == []


def test_personas_are_deterministic(personas):
    assert make_personas(DEFAULT_COUNT, DEFAULT_SEED) == personas


def test_personas_vary_as_promised(personas):
    assert len(personas) >= 100
    assert len({p.id_number for p in personas}) == len(personas)  # one persona per resident
    assert {len(p.resident_name) for p in personas} >= {2, 3, 4}
    surnames = {split_name(p.resident_name)[0] for p in personas}
    assert surnames & set(COMPOUND_SURNAMES)
    homophones = [p for p in personas if p.homophone]
    assert len(homophones) >= 5
    assert all(len(p.heard_name) == len(p.resident_name) for p in homophones)
    assert set(Counter(p.task for p in personas)) == set(Task)
    assert {p.id_style for p in personas} == set(IdStyle)
    assert any(p.wrong_id_answer is not None for p in personas)
    assert any(p.command for p in personas)
    assert any(p.noise_before or p.noise_within for p in personas)
    assert {p.name_style for p in personas} >= {"bare", "jiao", "shi", "mingzi", "xing", "describe"}
    assert any(not p.original for p in personas)
