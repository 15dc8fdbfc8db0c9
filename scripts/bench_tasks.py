"""Task benchmark: do simulated residents get their task done, and in how many turns?

    python -m scripts.bench_tasks [--count N] [--seed S] [--baseline COMMIT | --no-baseline]

(`make bench-tasks`, engine environment: the personas' homophones need pypinyin.) Each
persona (``scripts.task_personas``) talks to the real stack — action server, Rasa with
the trained model, gateway, on free loopback ports with a temporary var/ — through the
gateway's REST webhook, answering as ``scripts.task_resident`` decides. A conversation
fails when it is handed to a person (``custom.handoff``), when the bot offers a person
(no progress, even if it goes on), or when the task is not done within ``MAX_TURNS``.

The same personas then talk to the commit in ``BASELINE`` (default 777f3cc, before the
issue-10 work): a git worktree under var/bench/baseline with its own model (trained
once, cached by hash like ours) and its own stack, so the figures sit side by side.
The baseline registry has only the first 240 residents: personas of the appended ones
fail there, so the figure is also given for the residents both have.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scripts.bench_stacks import free_port, stack_module
from scripts.task_personas import DEFAULT_COUNT, DEFAULT_SEED, Persona, Utterance, make_personas
from scripts.task_resident import SimulatedResident, mask_ids, task_done

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
BASELINE_DIR = BENCH_DIR / "baseline"
DEFAULT_BASELINE = "777f3cc"
#: The target is no conversation longer than 12 turns; the 13th fails it.
MAX_TURNS = 12
#: All conversations of one stack, started or not, end by then.
WALL_CLOCK_S = 1500.0
TURN_TIMEOUT_S = 60.0
CONCURRENCY = 4
LOOPBACK = "127.0.0.1"
#: Environment a developer may have set that would point the stack elsewhere.
_FOREIGN_ENV = ("DATABASE_URL", "REGISTRY_URL", "REGISTRY_TOKEN", "REGISTRY_DB", "PENDING_DB")


@dataclass(frozen=True)
class Turn:
    resident: str  # masked
    bot: list[str]  # masked


@dataclass
class Outcome:
    persona: str
    task: str
    original: bool
    features: tuple[str, ...]
    success: bool = False
    turns: int = 0
    reason: str = ""  # why it failed: handoff, human_offered, turn_cap, wall_clock, error
    transcript: list[Turn] = field(default_factory=list)

    @property
    def category(self) -> str:
        """The task, the failure and the bot's first sentence in the last turn, for grouping.

        The first, not the last: after a handoff the last is the queue notice.
        """
        last = next((t.bot for t in reversed(self.transcript) if t.bot), [""])
        first = last[0].split("。")[0].split("？")[0][:30]
        return f"{self.task} {self.reason}: {first}"


@dataclass(frozen=True)
class Target:
    label: str
    root: Path
    model: Path


Talk = Callable[[str, str], list[dict[str, Any]]]


def converse(persona: Persona, sender: str, talk: Talk, deadline: float) -> Outcome:
    """One whole conversation, at most ``MAX_TURNS`` turns of the resident."""
    outcome = Outcome(persona.key, persona.task.value, persona.original, persona.features)
    resident = SimulatedResident(persona)
    said: Utterance = resident.start()
    for turn in range(1, MAX_TURNS + 1):
        if time.monotonic() > deadline:
            outcome.reason = "wall_clock"
            return outcome
        try:
            replies = talk(sender, said.text)
        except OSError as err:
            outcome.transcript.append(Turn(said.shown, [f"<{type(err).__name__}: {err}>"]))
            outcome.reason = "error"
            return outcome
        texts = [str(r["text"]) for r in replies if r.get("text")]
        outcome.turns = turn
        outcome.transcript.append(Turn(said.shown, [mask_ids(t) for t in texts]))
        if any((r.get("custom") or {}).get("handoff") for r in replies):
            outcome.reason = "handoff"
            return outcome
        done = task_done(persona, texts)
        titles = [str(b.get("title")) for r in replies for b in r.get("buttons") or []]
        said = resident.respond(texts, titles)  # notes an offer of a person
        if resident.human_offered:
            outcome.reason = "human_offered"
        if done:
            outcome.success = not resident.human_offered
            return outcome
    outcome.reason = outcome.reason or "turn_cap"
    return outcome


def webhook_talker(gateway_url: str) -> Talk:
    if not gateway_url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError(f"the benchmark talks to loopback only, not {gateway_url}")

    def talk(sender: str, text: str) -> list[dict[str, Any]]:
        request = urllib.request.Request(
            f"{gateway_url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=TURN_TIMEOUT_S) as response:
            replies: list[dict[str, Any]] = json.loads(response.read())
        return replies

    return talk


# --- stacks -------------------------------------------------------------------------------


@contextlib.contextmanager
def _clean_environment() -> Iterator[None]:
    saved = dict(os.environ)
    for key in list(os.environ):
        if key in _FOREIGN_ENV or key.startswith("GATEWAY_") or key == "RASA_TOKEN":
            del os.environ[key]
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def running_stack(target: Target, var_dir: Path) -> Iterator[str]:
    """The target's three processes on free loopback ports; yields the gateway's URL."""
    module = stack_module(target.root)
    config = module.StackConfig(
        model=target.model,
        var_dir=var_dir,
        rasa_port=free_port(),
        actions_port=free_port(),
        gateway_host=LOOPBACK,
        gateway_port=free_port(),
        log_dir=var_dir / "logs",
    )
    stack = module.Stack(config)
    with _clean_environment():
        try:
            stack.start()
        except Exception:
            for log in sorted((var_dir / "logs").glob("*.log")):
                print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")
            raise
    try:
        yield str(config.gateway_url)
    finally:
        stack.stop()


def run_target(target: Target, personas: Sequence[Persona]) -> list[Outcome]:
    var_dir = Path(tempfile.mkdtemp(prefix=f"bench-tasks-{target.label}-"))
    try:
        print(f"[{target.label}] starting the stack ({target.model.name})…", flush=True)
        with running_stack(target, var_dir) as gateway_url:
            talk = webhook_talker(gateway_url)
            deadline = time.monotonic() + WALL_CLOCK_S
            run = f"{int(time.time())}"
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                return list(
                    pool.map(
                        lambda p: converse(p, f"bench-{run}-{p.key}", talk, deadline), personas
                    )
                )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


# --- the baseline -------------------------------------------------------------------------


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def baseline_tree(commit: str) -> Path:
    """A worktree of ``commit`` under var/bench/baseline using this tree's environments."""
    sha = _git("rev-parse", "--verify", f"{commit}^{{commit}}")
    if (BASELINE_DIR / ".git").exists():
        if _git("rev-parse", "HEAD", cwd=BASELINE_DIR) != sha:
            _git("checkout", "--quiet", "--detach", sha, cwd=BASELINE_DIR)
    else:
        _git("worktree", "prune")
        BASELINE_DIR.parent.mkdir(parents=True, exist_ok=True)
        _git("worktree", "add", "--quiet", "--detach", str(BASELINE_DIR), sha)
    for env in (".venv", ".venv-rasa"):
        link = BASELINE_DIR / env
        if not link.exists():
            link.symlink_to(ROOT / env, target_is_directory=True)
    return BASELINE_DIR


def baseline_model(tree: Path) -> Path:
    """The baseline's model, trained by its own model cache (so only once per commit).

    Training talks a lot: its output goes to var/bench/baseline-train.log.
    """
    log = BENCH_DIR / "baseline-train.log"
    with log.open("w", encoding="utf-8") as err:
        done = subprocess.run(
            [str(tree / ".venv" / "bin" / "python"), "-m", "scripts.model_cache"],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    if done.returncode != 0:
        raise RuntimeError(f"training the baseline model failed: see {log}")
    return Path(done.stdout.strip().splitlines()[-1])


def current_model() -> Path:
    from scripts.model_cache import ensure_model

    model, _ = ensure_model(ROOT / "config.yml")
    return model


# --- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    total: int
    successes: int
    median_turns: float | None
    p95_turns: int | None

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Figures:
        turns = sorted(o.turns for o in outcomes if o.success)
        p95 = turns[math.ceil(0.95 * len(turns)) - 1] if turns else None
        median = statistics.median(turns) if turns else None
        return cls(len(outcomes), len(turns), median, p95)

    @property
    def rate(self) -> float:
        return self.successes / self.total if self.total else 0.0

    def rate_text(self) -> str:
        return f"{self.successes}/{self.total} = {self.rate:.0%}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or not theirs:
        return "-"
    return f"{ours / theirs:.2f}x"


def _row(label: str, cells: Sequence[str]) -> str:
    return f"{label:<30}" + "".join(f"{c:>20}" for c in cells)


def report(results: dict[str, list[Outcome]]) -> None:
    labels = list(results)
    both = {label: [o for o in results[label] if o.original] for label in labels}
    figures = {label: Figures.of(results[label]) for label in labels}
    common = {label: Figures.of(both[label]) for label in labels}
    header = [*labels, "ratio"] if len(labels) == 2 else labels

    def ratio(values: Sequence[float | None]) -> list[str]:
        return [_ratio(values[0], values[1])] if len(values) == 2 else []

    print("\n=== task benchmark ===")
    print(_row("", header))
    rates = [figures[label].rate for label in labels]
    print(_row("success rate", [figures[x].rate_text() for x in labels] + ratio(rates)))
    common_rates = [common[label].rate for label in labels]
    print(
        _row(
            "  residents in both",
            [common[x].rate_text() for x in labels] + ratio(common_rates),
        )
    )
    medians = [figures[label].median_turns for label in labels]
    print(
        _row(
            "turns per success, median", [f"{m:g}" if m else "-" for m in medians] + ratio(medians)
        )
    )
    p95s = [figures[label].p95_turns for label in labels]
    print(
        _row(
            "turns per success, p95",
            [str(p) for p in p95s] + ratio([float(p) if p else None for p in p95s]),
        )
    )
    print(_row("failures", [str(f.total - f.successes) for f in figures.values()]))
    for group, key in (("task", lambda o: o.task), ("feature", None)):
        print(f"\nsuccess by {group}:")
        names = sorted({n for label in labels for o in results[label] for n in _groups(o, key)})
        for name in names:
            cells = []
            for label in labels:
                members = [o for o in results[label] if name in _groups(o, key)]
                cells.append(Figures.of(members).rate_text())
            print(_row(f"  {name}", cells))
    for label in labels:
        failed = [o for o in results[label] if not o.success]
        print(f"\n[{label}] failure categories:")
        for category, count in Counter(o.category for o in failed).most_common():
            print(f"  {count:>3}  {category}")


def _groups(outcome: Outcome, key: Callable[[Outcome], str] | None) -> tuple[str, ...]:
    return (key(outcome),) if key else outcome.features


def transcripts(outcomes: Sequence[Outcome]) -> str:
    lines = []
    for o in outcomes:
        if o.success:
            continue
        lines.append(
            f"\n--- {o.persona} {o.task} ({o.reason}, {o.turns} turns) {' '.join(o.features)}"
        )
        for turn in o.transcript:
            lines.append(f"  居民: {turn.resident}")
            lines.extend(f"  助手: {text}" for text in turn.bot)
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--baseline", default=os.environ.get("BASELINE") or DEFAULT_BASELINE)
    parser.add_argument("--no-baseline", action="store_true", help="only the current tree")
    parser.add_argument(
        "--model", type=Path, help="the current tree's model (default: trained if needed)"
    )
    args = parser.parse_args(argv)
    personas = make_personas(args.count, args.seed)
    started = time.monotonic()
    targets = [Target("current", ROOT, args.model.resolve() if args.model else current_model())]
    if not args.no_baseline:
        tree = baseline_tree(args.baseline)
        print(f"baseline {args.baseline}: {tree} (training its model if needed)…", flush=True)
        targets.append(Target("baseline", tree, baseline_model(tree)))
    results = {t.label: run_target(t, personas) for t in targets}
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    for label, outcomes in results.items():
        (BENCH_DIR / f"tasks-{label}.json").write_text(
            json.dumps([asdict(o) for o in outcomes], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    baseline_failures = BENCH_DIR / "tasks-baseline-failures.txt"
    if "baseline" in results:
        baseline_failures.write_text(transcripts(results["baseline"]), encoding="utf-8")
    print("\n=== failures of the current tree (ID numbers masked) ===")
    print(transcripts(results["current"]) or "  none")
    report(results)
    if "baseline" in results:
        print(f"\nbaseline failure transcripts: {baseline_failures.relative_to(ROOT)}")
    print(f"({len(personas)} personas, {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
