"""Evaluate a trained model's NLU on the held-out file that training never sees.

Prints intent accuracy and per-entity precision / recall / F1 (entities compared by type
and normalised value), and fails when the issue's thresholds are not met. Engine env.

    python -m scripts.evaluate_nlu --model models/config-<hash>.tar.gz \
        --min-intent-accuracy 0.90 --min-id-f1 0.95
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "data" / "nlu_heldout.yml"

logger = logging.getLogger("evaluate_nlu")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: frozenset[tuple[str, str]]


@dataclass
class EntityScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    total: int = 0
    intent_correct: int = 0
    entities: dict[str, EntityScore] = field(default_factory=dict)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_correct / self.total if self.total else 0.0

    def entity(self, name: str) -> EntityScore:
        return self.entities.setdefault(name, EntityScore())


def load_examples(path: Path = HELDOUT) -> list[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [
        Example(
            text=m.get("text"),
            intent=m.get("intent"),
            entities=frozenset((e["entity"], str(e["value"])) for e in m.get("entities") or []),
        )
        for m in data.intent_examples
    ]


def predicted_entities(parse: dict[str, Any]) -> frozenset[tuple[str, str]]:
    return frozenset((e["entity"], str(e["value"])) for e in parse.get("entities") or [])


def score(examples: list[Example], parses: list[dict[str, Any]]) -> Report:
    report = Report()
    for example, parse in zip(examples, parses, strict=True):
        report.total += 1
        predicted = (parse.get("intent") or {}).get("name")
        if predicted == example.intent:
            report.intent_correct += 1
        else:
            report.confusions[(example.intent, str(predicted))] += 1
        got = predicted_entities(parse)
        for name in {n for n, _ in example.entities | got}:
            gold_n = {v for n, v in example.entities if n == name}
            got_n = {v for n, v in got if n == name}
            s = report.entity(name)
            s.tp += len(gold_n & got_n)
            s.fp += len(got_n - gold_n)
            s.fn += len(gold_n - got_n)
    return report


async def parse_all(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's debug lines would print every parse
    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def format_report(report: Report, title: str) -> str:
    lines = [
        f"== {title}: {report.total} held-out examples ==",
        f"intent accuracy: {report.intent_accuracy:.3f}",
        f"{'entity':<16}{'precision':>10}{'recall':>10}{'f1':>8}",
    ]
    for name, s in sorted(report.entities.items()):
        lines.append(f"{name:<16}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>8.3f}")
    if report.confusions:
        lines.append(
            "most confused (gold -> predicted): "
            + ", ".join(f"{g}->{p} x{n}" for (g, p), n in report.confusions.most_common(5))
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=HELDOUT)
    parser.add_argument("--min-intent-accuracy", type=float, default=0.0)
    parser.add_argument("--min-id-f1", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    examples = load_examples(args.data)
    parses = asyncio.run(parse_all(args.model, [e.text for e in examples]))
    report = score(examples, parses)
    print(format_report(report, f"NLU evaluation of {args.model.name}"))
    id_f1 = report.entity("id_number").f1
    failed = []
    if report.intent_accuracy < args.min_intent_accuracy:
        failed.append(f"intent accuracy {report.intent_accuracy:.3f} < {args.min_intent_accuracy}")
    if id_f1 < args.min_id_f1:
        failed.append(f"id_number F1 {id_f1:.3f} < {args.min_id_f1}")
    for reason in failed:
        print(f"FAILED: {reason}")
    if not failed:
        print("NLU evaluation passed.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
