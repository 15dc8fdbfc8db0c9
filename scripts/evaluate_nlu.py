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
NOISE = ROOT / "tests" / "data" / "noise_heldout.yml"
FALLBACK = "nlu_fallback"
#: Intents that start a task or hand the resident over: noise must lead to none of them.
ACTING_INTENTS = frozenset(
    {
        *("social_security_auth", "check_auth_status", "service_lookup", "find_service_center"),
        *("request_human", "emergency", "complaint"),
    }
)
#: Confidence floors shown next to each other, to tune the FallbackClassifier's threshold.
FLOORS = (0.3, 0.4, 0.45, 0.5, 0.6, 0.7)

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


def load_noise(path: Path = NOISE) -> list[str]:
    import yaml  # type: ignore[import-untyped]  # no stubs in the app environment

    return [str(line) for line in yaml.safe_load(path.read_text(encoding="utf-8"))["noise"]]


def _confidence(parse: dict[str, Any]) -> tuple[str | None, float]:
    """DIET's best intent and its confidence, before the FallbackClassifier's floor.

    Noise marked by the NoiseFilter counts as caught whatever the floor.
    """
    ranking = parse.get("intent_ranking") or []
    if ranking and ranking[0].get("name") == FALLBACK and ranking[0].get("confidence") == 1.0:
        return FALLBACK, 1.0
    best = next((r for r in ranking if r.get("name") != FALLBACK), None)
    return (best.get("name"), float(best.get("confidence") or 0.0)) if best else (None, 0.0)


def acting_share(noise_parses: list[dict[str, Any]]) -> float:
    """Share of noise that starts a task or a handoff with the model as configured."""
    acting = [p for p in noise_parses if (p.get("intent") or {}).get("name") in ACTING_INTENTS]
    return len(acting) / len(noise_parses) if noise_parses else 0.0


def floor_table(
    examples: list[Example], parses: list[dict[str, Any]], noise_parses: list[dict[str, Any]]
) -> str:
    """For each confidence floor: noise that would act, and real requests it would refuse."""
    lines = [f"{'floor':<8}{'noise acting':>14}{'requests refused':>18}"]
    for floor in FLOORS:
        acting = 0
        for parse in noise_parses:
            intent, confidence = _confidence(parse)
            acting += intent in ACTING_INTENTS and confidence >= floor
        refused = 0
        for example, parse in zip(examples, parses, strict=True):
            intent, confidence = _confidence(parse)
            refused += example.intent != FALLBACK and (intent == FALLBACK or confidence < floor)
        lines.append(
            f"{floor:<8.2f}{acting / len(noise_parses):>14.3f}{refused / len(examples):>18.3f}"
        )
    return "\n".join(lines)


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
    parser.add_argument("--noise", type=Path, default=NOISE)
    parser.add_argument(
        "--max-noise-acting", type=float, default=1.0, help="share of noise that may act"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    examples = load_examples(args.data)
    noise = load_noise(args.noise)
    parses = asyncio.run(parse_all(args.model, [e.text for e in examples] + noise))
    parses, noise_parses = parses[: len(examples)], parses[len(examples) :]
    report = score(examples, parses)
    print(format_report(report, f"NLU evaluation of {args.model.name}"))
    noise_acting = acting_share(noise_parses)
    print(
        f"== noise ({len(noise)} held-out utterances): share that starts a task or a handoff: "
        f"{noise_acting:.3f} =="
    )
    print(floor_table(examples, parses, noise_parses))
    id_f1 = report.entity("id_number").f1
    failed = []
    if report.intent_accuracy < args.min_intent_accuracy:
        failed.append(f"intent accuracy {report.intent_accuracy:.3f} < {args.min_intent_accuracy}")
    if id_f1 < args.min_id_f1:
        failed.append(f"id_number F1 {id_f1:.3f} < {args.min_id_f1}")
    if noise_acting > args.max_noise_acting:
        failed.append(f"noise acting {noise_acting:.3f} > {args.max_noise_acting}")
    for reason in failed:
        print(f"FAILED: {reason}")
    if not failed:
        print("NLU evaluation passed.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
