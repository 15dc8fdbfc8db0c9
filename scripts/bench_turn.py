"""Turn benchmark: what one text turn costs straight at Rasa's REST channel, now and before.

    python -m scripts.bench_turn [--baseline COMMIT | --baseline-model M | --no-baseline]
                                 [--rounds N]

(`make bench-turn`, app environment: only the standard library and scripts.stack.) One
resident at a time, so the figure is the cost of a turn, not of a queue: each round is a
new sender saying the five messages of issue 11 in order (a greeting, a service guide, a
service centre, a repeat, the start of an authentication) to Rasa's REST webhook, with the
action server and the encrypted tracker store behind it as in `make run`. The first
rounds warm the caches and are not counted. A second part keeps one sender talking for
``LONG_TURNS`` turns, because a turn's cost grew with the conversation (issue 11: 120 →
190 ms after 40 turns).

The baseline is the same measurement of another commit in the same run (a git worktree
under var/bench/turn-baseline, its model trained once by its own model cache, or copied
from models/ when this tree already has a model of the same inputs). Both stacks run at
once and take turns round by round, so "before" and "after" share the machine and its
load. Loopback only, bounded by ``WALL_CLOCK_S`` per target.
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.bench_stacks import free_port, stack_module

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
BASELINE_DIR = BENCH_DIR / "turn-baseline"
#: The commit before issue 11's cheaper turn (TEDPolicy still in config.yml).
DEFAULT_BASELINE = "7bf33da"
LOOPBACK = "127.0.0.1"
#: The five messages of issue 11, said in this order by each sender.
MESSAGES = ("你好", "高龄津贴怎么申请", "附近的社区服务中心在哪", "再说一遍", "我要做养老金认证")
WARMUP_ROUNDS = 3
DEFAULT_ROUNDS = 20
LONG_TURNS = 40
TURN_TIMEOUT_S = 30.0
#: One target's measurement ends by then, whatever is left.
WALL_CLOCK_S = 300.0
#: The issue's bar for the p50 over the five messages, Rasa direct.
TARGET_P50_MS = 60.0
_FOREIGN_ENV = ("DATABASE_URL", "REGISTRY_URL", "REGISTRY_TOKEN", "REGISTRY_DB", "PENDING_DB")


@dataclass(frozen=True)
class Target:
    label: str
    root: Path
    model: Path


@dataclass
class Timings:
    """Milliseconds per message (short conversations) and per turn index (the long one)."""

    per_message: dict[str, list[float]] = field(default_factory=dict)
    long_conversation: list[float] = field(default_factory=list)

    def all_short(self) -> list[float]:
        return [ms for values in self.per_message.values() for ms in values]


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def post_message(rasa_url: str, sender: str, text: str) -> tuple[float, list[dict[str, Any]]]:
    """One turn at Rasa's REST channel; the wall time in ms and the bot's replies."""
    if not rasa_url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError(f"the benchmark talks to loopback only, not {rasa_url}")
    request = urllib.request.Request(
        f"{rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"content-type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=TURN_TIMEOUT_S) as response:
        replies: list[dict[str, Any]] = json.loads(response.read())
    return (time.perf_counter() - started) * 1000, replies


def measure(rasa_urls: dict[str, str], rounds: int, run: str) -> dict[str, Timings]:
    """The short conversations, then the long one, each sender new, the targets taking turns.

    Interleaved (round by round, the order rotating) so a burst of load from anything else
    on the machine falls on both targets alike, not on whichever ran second.
    """
    deadline = time.monotonic() + WALL_CLOCK_S * len(rasa_urls)
    timings = {label: Timings({message: [] for message in MESSAGES}) for label in rasa_urls}
    labels = list(rasa_urls)

    def rotated(index: int) -> list[str]:
        shift = index % len(labels)
        return labels[shift:] + labels[:shift]

    for index in range(WARMUP_ROUNDS + rounds):
        if time.monotonic() > deadline:
            break
        for label in rotated(index):
            sender = f"bench-turn-{run}-{label}-{index}"
            for message in MESSAGES:
                ms, _ = post_message(rasa_urls[label], sender, message)
                if index >= WARMUP_ROUNDS:
                    timings[label].per_message[message].append(ms)
    for turn in range(LONG_TURNS):
        if time.monotonic() > deadline:
            break
        for label in rotated(turn):
            sender = f"bench-turn-{run}-{label}-long"
            ms, _ = post_message(rasa_urls[label], sender, MESSAGES[turn % len(MESSAGES)])
            timings[label].long_conversation.append(ms)
    return timings


# --- stacks -------------------------------------------------------------------------------


@contextlib.contextmanager
def running_rasa(target: Target, var_dir: Path) -> Iterator[str]:
    """The target's three processes on free loopback ports; yields Rasa's URL."""
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
    saved = dict(os.environ)
    for key in list(os.environ):
        if key in _FOREIGN_ENV or key.startswith("GATEWAY_") or key == "RASA_TOKEN":
            del os.environ[key]
    try:
        stack.start()
    except Exception:
        for log in sorted((var_dir / "logs").glob("*.log")):
            print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        yield str(config.rasa_url)
    finally:
        stack.stop()


def run_targets(targets: Sequence[Target], rounds: int) -> dict[str, Timings]:
    """Every target's stack up at once (each on its own ports and var/), then measured."""
    with contextlib.ExitStack() as stacks:
        urls: dict[str, str] = {}
        for target in targets:
            var_dir = Path(tempfile.mkdtemp(prefix=f"bench-turn-{target.label}-"))
            stacks.callback(shutil.rmtree, var_dir, ignore_errors=True)
            print(f"[{target.label}] starting the stack ({target.model.name})…", flush=True)
            urls[target.label] = stacks.enter_context(running_rasa(target, var_dir))
        return measure(urls, rounds, str(int(time.time())))


# --- the baseline -------------------------------------------------------------------------


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def baseline_tree(commit: str) -> Path:
    """A worktree of ``commit`` under var/bench/turn-baseline using this tree's environments."""
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
    """The baseline's model: its model cache's name, trained there only if nobody has it.

    The name is a hash of the training inputs' paths and contents, so a model of that name
    in this tree's models/ (trained before config.yml changed) is the same model.
    """
    done = subprocess.run(
        [str(tree / ".venv" / "bin" / "python"), "-m", "scripts.model_cache", "--print-path"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
        text=True,
    )
    target = Path(done.stdout.strip().splitlines()[-1])
    ours = ROOT / "models" / target.name
    if not target.exists() and ours.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ours, target)
    if target.exists():
        return target
    log = BENCH_DIR / "turn-baseline-train.log"
    with log.open("w", encoding="utf-8") as err:
        trained = subprocess.run(
            [str(tree / ".venv" / "bin" / "python"), "-m", "scripts.model_cache"],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    if trained.returncode != 0:
        raise RuntimeError(f"training the baseline model failed: see {log}")
    return Path(trained.stdout.strip().splitlines()[-1])


def current_model() -> Path:
    from scripts.model_cache import ensure_model

    model, _ = ensure_model(ROOT / "config.yml")
    return model


# --- figures ------------------------------------------------------------------------------


def _cell(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.0f} / {percentile(values, 0.95):.0f}"


def _row(label: str, cells: Sequence[str]) -> str:
    return f"{label:<26}" + "".join(f"{c:>18}" for c in cells)


def report(results: dict[str, Timings]) -> list[str]:
    """The table (ms, p50 / p95 per message), and the lines that say whether the bar is met."""
    labels = list(results)
    lines = ["\n=== turn benchmark: Rasa REST, one resident, ms p50 / p95 ==="]
    lines.append(_row("", labels))
    for message in MESSAGES:
        lines.append(_row(message, [_cell(results[x].per_message[message]) for x in labels]))
    lines.append(_row("all five", [_cell(results[x].all_short()) for x in labels]))
    for name, part in (("long: turns 1-5", slice(0, 5)), ("long: turns 36-40", slice(35, 40))):
        lines.append(_row(name, [_cell(results[x].long_conversation[part]) for x in labels]))
    ours = results[labels[0]].all_short()
    if ours:
        p50 = statistics.median(ours)
        verdict = "meets" if p50 <= TARGET_P50_MS else "misses"
        lines.append(f"\n{labels[0]}: p50 {p50:.0f} ms {verdict} the bar of {TARGET_P50_MS:.0f} ms")
    if len(labels) == 2 and ours and results[labels[1]].all_short():
        before = statistics.median(results[labels[1]].all_short())
        lines.append(f"{labels[1]} → {labels[0]}: x{statistics.median(ours) / before:.2f} at p50")
    return lines


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=os.environ.get("BASELINE") or DEFAULT_BASELINE)
    parser.add_argument("--no-baseline", action="store_true", help="only the current tree")
    parser.add_argument(
        "--baseline-model",
        type=Path,
        help="compare with this tree on another model (what a config.yml change costs)",
    )
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument(
        "--model", type=Path, help="the current tree's model (default: trained if needed)"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    targets = [Target("current", ROOT, args.model.resolve() if args.model else current_model())]
    if args.baseline_model:
        targets.append(Target("baseline", ROOT, args.baseline_model.resolve()))
    elif not args.no_baseline:
        tree = baseline_tree(args.baseline)
        print(f"baseline {args.baseline}: {tree} (its model trained if needed)…", flush=True)
        targets.append(Target("baseline", tree, baseline_model(tree)))
    results = run_targets(targets, max(1, args.rounds))
    lines = report(results)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / "turn.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(
        f"({args.rounds} rounds of {len(MESSAGES)} messages per target, "
        f"{time.monotonic() - started:.0f} s; table in var/bench/turn.txt)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
