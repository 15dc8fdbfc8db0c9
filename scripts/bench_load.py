"""Load benchmark: turns per second and turn latency at 25, 50 and 100 concurrent residents.

    python -m scripts.bench_load [--levels 25,50,100] [--no-cluster | --cluster-url URL]

(`make bench-load`, app environment.) Each simulated resident holds one conversation after
another through the gateway's REST webhook, as a kiosk or web chat would, with no pause
between turns (a closed loop: the figure is what the stack can take, not what a city
sends). The conversations mix the tasks: authentications and status questions of
residents from ``actions/data/residents.csv``, service questions, service centres and small
talk; a resident answers what the bot asks (``scripts.task_resident.cue_of``), so forms
run their real course.

Targets, up at the same time and measured in the same run, taking turns level by level,
each level on fresh conversations: ``make run``'s stack (``scripts.stack``: one Rasa, one
action server, one gateway) on free ports with a temporary var/, and `make run-cluster`'s
(``scripts.cluster``: HAProxy in front of 2 gateways, 2 Rasa, 2 action servers, PostgreSQL,
Redis) on free ports with its own data directory, when its Debian packages are installed;
or ``--cluster-url``, a cluster already running.

Bounded in the code: loopback only, at most ``MAX_CONCURRENCY`` residents, ``TURNS_PER_RESIDENT``
turns each, ``LEVEL_TIME_LIMIT_S`` per level, ``TURN_TIMEOUT_S`` per turn. A turn
that fails or times out counts as an error, not as a latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scripts.bench_stacks import LOOPBACK, free_port
from scripts.task_resident import Cue, cue_of

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
RESIDENTS_FILE = ROOT / "actions" / "data" / "residents.csv"
DEFAULT_LEVELS = (25, 50, 100)
MAX_CONCURRENCY = 100
TURNS_PER_RESIDENT = 6
#: A conversation that has not reached its end by then is left (the resident starts anew).
MAX_TURNS_PER_CONVERSATION = 8
LEVEL_TIME_LIMIT_S = 120.0
TURN_TIMEOUT_S = 30.0
SEED = 11
WARMUP_RESIDENTS = 8  # enough for every gateway and Rasa of the cluster to have served
#: The share of each kind of conversation.
TASK_WEIGHTS = {"auth": 0.3, "status": 0.2, "service": 0.25, "center": 0.1, "smalltalk": 0.15}
SERVICE_QUESTIONS = ("高龄津贴怎么申请", "低保怎么办理", "残疾证在哪里办", "医保报销要带什么")
SMALL_TALK = ("你好", "谢谢", "你是谁", "再说一遍", "再见")
#: Replies that end a task (as the task benchmark reads them).
DONE_WORDS = ("认证成功", "已经认证", "还没有认证", "过期了", "还有别的事", "地址", "材料")
_FOREIGN_ENV = ("DATABASE_URL", "REGISTRY_URL", "REGISTRY_TOKEN", "REGISTRY_DB", "PENDING_DB")


@dataclass(frozen=True)
class Resident:
    id_number: str
    name: str
    district: str


@dataclass
class Script:
    """One conversation: what is said first, and how the resident answers the bot's cues."""

    task: str
    opening: str
    resident: Resident
    said: int = 0

    def answer(self, texts: Sequence[str]) -> str | None:
        """The next thing to say, or None when the conversation is over."""
        if self.task == "smalltalk":
            return SMALL_TALK[self.said % len(SMALL_TALK)] if self.said < 3 else None
        joined = "".join(texts)
        if any(word in joined for word in DONE_WORDS) and self.said > 0:
            return None
        cue = cue_of(texts)
        answers: dict[Cue | None, str] = {
            Cue.READBACK: "对",
            Cue.NAME_CONFIRM: "对",
            Cue.OFFER_HUMAN: "不用",
            Cue.ASK_NAME: f"我叫{self.resident.name}",
            Cue.ASK_ID: self.resident.id_number,
            Cue.ASK_DISTRICT: self.resident.district,
            Cue.ASK_SERVICE: SERVICE_QUESTIONS[0],
            Cue.NOT_HEARD: self.opening,
            Cue.ASK_TASK: self.opening,
        }
        if "提醒" in joined:
            return "不用了"
        return answers.get(cue) if cue is not None else None


def residents() -> list[Resident]:
    with RESIDENTS_FILE.open(encoding="utf-8", newline="") as file:
        return [Resident(r["id_number"], r["name"], r["district"]) for r in csv.DictReader(file)]


def make_script(rng: random.Random, people: Sequence[Resident]) -> Script:
    task = rng.choices(list(TASK_WEIGHTS), weights=list(TASK_WEIGHTS.values()))[0]
    resident = rng.choice(people)
    opening = {
        "auth": "我要做养老金认证",
        "status": "我今年还需要认证吗",
        "service": rng.choice(SERVICE_QUESTIONS),
        "center": "附近的社区服务中心在哪",
        "smalltalk": SMALL_TALK[0],
    }[task]
    return Script(task, opening, resident)


# --- one level of load --------------------------------------------------------------------


@dataclass
class LevelResult:
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    conversations: int = 0
    #: CPU seconds each of the target's processes spent during the level (see cpu_seconds).
    cpu_s: dict[str, float] = field(default_factory=dict)
    load_cpu_s: float = 0.0  # this benchmark's own CPU seconds in the level

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, share: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def cpu_seconds(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system, with reaped children) of each process group, from /proc.

    Every process of a stack runs in its own session (``Stack.spawn``), so a group holds
    PostgreSQL's backends or Rasa's children too. Off Linux this is empty: the figures
    are only a diagnosis of where a turn's CPU goes, not part of the result.
    """
    if not groups:
        return {}  # a cluster we did not start: nothing of ours to count
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    totals = dict.fromkeys(groups, 0.0)
    by_group = {pgid: name for name, pgid in groups.items()}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        name = by_group.get(int(fields[2]))  # pgrp: the third field after the name
        if name is not None:
            totals[name] += sum(int(x) for x in fields[11:15]) / ticks  # utime..cstime
    return totals


def _check_loopback(url: str) -> None:
    if not url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError(f"the load benchmark talks to loopback only, not {url}")


async def _resident(
    client: httpx.AsyncClient,
    url: str,
    number: int,
    run: str,
    rng: random.Random,
    people: Sequence[Resident],
    deadline: float,
    result: LevelResult,
) -> None:
    turns = 0
    conversation = 0
    while turns < TURNS_PER_RESIDENT and time.monotonic() < deadline:
        script = make_script(rng, people)
        sender = f"load-{run}-{number}-{conversation}"
        conversation += 1
        result.conversations += 1
        text: str | None = script.opening
        for _ in range(MAX_TURNS_PER_CONVERSATION):
            if text is None or turns >= TURNS_PER_RESIDENT or time.monotonic() > deadline:
                break
            turns += 1
            started = time.perf_counter()
            try:
                response = await client.post(url, json={"sender": sender, "message": text})
                response.raise_for_status()
                replies: list[dict[str, Any]] = response.json()
            except (httpx.HTTPError, ValueError) as err:
                result.errors += 1
                status = getattr(getattr(err, "response", None), "status_code", None)
                result.error_kinds[f"HTTP {status}" if status else type(err).__name__] += 1
                break
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            script.said += 1
            text = script.answer([str(r["text"]) for r in replies if r.get("text")])


async def run_level(
    gateway_url: str, concurrency: int, run: str, groups: dict[str, int] | None = None
) -> LevelResult:
    """``concurrency`` residents at once until each has had its turns or time is up;
    `groups` (name: process group) are the target's processes whose CPU is counted."""
    _check_loopback(gateway_url)
    concurrency = min(concurrency, MAX_CONCURRENCY)
    people = residents()
    result = LevelResult(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(TURN_TIMEOUT_S)
    url = f"{gateway_url}/webhooks/rest/webhook"
    cpu_before = cpu_seconds(groups or {})
    own_before = time.process_time()  # the load generator shares the machine's cores
    started = time.monotonic()
    deadline = started + LEVEL_TIME_LIMIT_S
    async with httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False) as client:
        await asyncio.gather(
            *(
                _resident(
                    client,
                    url,
                    n,
                    run,
                    random.Random(f"{SEED}-{concurrency}-{n}"),
                    people,
                    deadline,
                    result,
                )
                for n in range(concurrency)
            )
        )
    result.elapsed_s = time.monotonic() - started
    cpu_after = cpu_seconds(groups or {})
    result.cpu_s = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
    result.load_cpu_s = time.process_time() - own_before
    return result


@dataclass(frozen=True)
class Target:
    """A stack under load: its front door, and its processes by name (live: a restarted
    process is counted under its new pid), empty for a cluster we did not start."""

    url: str
    processes: dict[str, Any] = field(default_factory=dict)

    def groups(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.processes.items()}


def run_levels(targets: dict[str, Target], levels: Sequence[int]) -> dict[str, list[LevelResult]]:
    """Each target warmed up (first turns load Rasa's caches), then level by level, the
    targets taking turns within a level (the order alternating), so that load from
    anything else on the machine falls on both alike rather than on whichever ran later."""
    for target in targets.values():
        asyncio.run(run_level(target.url, WARMUP_RESIDENTS, f"warmup-{int(time.time())}"))
    results: dict[str, list[LevelResult]] = {label: [] for label in targets}
    labels = list(targets)
    for index, level in enumerate(levels):
        for label in labels[index % 2 :] + labels[: index % 2]:
            print(f"[{label}] {level} residents…", flush=True)
            run = f"{label.replace(' ', '_')}-{int(time.time())}"  # a sender id has no spaces
            target = targets[label]
            results[label].append(asyncio.run(run_level(target.url, level, run, target.groups())))
    return results


# --- targets ------------------------------------------------------------------------------


@contextlib.contextmanager
def make_run_stack(model: Path) -> Iterator[Target]:
    """`make run`'s three processes on free loopback ports and a temporary var/."""
    from scripts.stack import Stack, StackConfig

    var_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    config = StackConfig(
        model=model,
        var_dir=var_dir,
        rasa_port=free_port(),
        actions_port=free_port(),
        gateway_host=LOOPBACK,
        gateway_port=free_port(),
        log_dir=var_dir / "logs",
    )
    stack = Stack(config)
    saved = dict(os.environ)
    for key in list(os.environ):
        if key in _FOREIGN_ENV or key.startswith("GATEWAY_") or key == "RASA_TOKEN":
            del os.environ[key]
    try:
        stack.start()
        yield Target(config.gateway_url, stack.processes)
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(var_dir, ignore_errors=True)


@contextlib.contextmanager
def cluster_stack(model: Path) -> Iterator[Target]:
    """`make run-cluster`'s processes (scripts.cluster) on free ports; yields its front door.

    Its data directory is under var/bench (PostgreSQL runs as Debian's ``postgres`` user
    when we are root and must reach it; a private temporary directory it could not).
    """
    from scripts.cluster import Cluster, ClusterConfig

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="load-cluster-", dir=BENCH_DIR))
    var_dir.chmod(0o755)

    def ports(count: int) -> tuple[int, ...]:
        return tuple(free_port() for _ in range(count))

    config = ClusterConfig(
        model=model,
        var_dir=var_dir,
        front_port=free_port(),
        gateway_ports=ports(2),
        rasa_ports=ports(2),
        actions_ports=ports(2),
        rasa_lb_port=free_port(),
        actions_lb_port=free_port(),
        postgres_port=free_port(),
        redis_port=free_port(),
    )
    saved = dict(os.environ)
    for key in list(os.environ):
        if key in _FOREIGN_ENV or key.startswith("GATEWAY_") or key == "RASA_TOKEN":
            del os.environ[key]
    try:
        with Cluster(config) as cluster:
            yield Target(config.front_url, cluster.stack.processes)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(var_dir, ignore_errors=True)


def cluster_missing() -> str | None:
    """Why the cluster cannot run here (its module or Debian packages absent), or None."""
    try:
        from scripts.cluster import INSTALL_HINT, missing_packages
    except ImportError:
        return "this tree has no scripts/cluster.py"
    missing = missing_packages()
    return f"{', '.join(missing)} not installed: {INSTALL_HINT}" if missing else None


# --- figures ------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.2f} s"


def report(results: dict[str, list[LevelResult]]) -> list[str]:
    lines = ["\n=== load benchmark: gateway REST webhook, closed loop ==="]
    lines.append(
        f"{'target':<12}{'residents':>10}{'turns':>8}{'errors':>8}{'turns/s':>10}"
        f"{'p50':>10}{'p95':>10}"
    )
    for label, levels in results.items():
        for r in levels:
            lines.append(
                f"{label:<12}{r.concurrency:>10}{r.turns:>8}{r.errors:>8}"
                f"{r.turns_per_s:>10.1f}{_ms(r.percentile_ms(0.5)):>10}"
                f"{_ms(r.percentile_ms(0.95)):>10}"
            )
    for label, levels in results.items():
        for r in levels:
            if r.error_kinds:
                kinds = ", ".join(f"{k} x{n}" for k, n in r.error_kinds.most_common())
                lines.append(f"{label} at {r.concurrency}: errors {kinds}")
    lines.append("\nCPU per turn, ms, by process (cores: all of them together, busy share)")
    for label, levels in results.items():
        for r in levels:
            if r.cpu_s and r.turns:
                parts = "  ".join(
                    f"{name} {1000 * cpu / r.turns:.0f}" for name, cpu in sorted(r.cpu_s.items())
                )
                cores = sum(r.cpu_s.values()) / r.elapsed_s
                total = 1000 * sum(r.cpu_s.values()) / r.turns
                lines.append(
                    f"{label} at {r.concurrency}: {total:.0f} ms/turn, {cores:.2f} cores: {parts}"
                    f"  (load generator {1000 * r.load_cpu_s / r.turns:.0f})"
                )
    if "cluster" in results and "make run" in results:
        for ours, theirs in zip(results["cluster"], results["make run"], strict=True):
            if theirs.turns_per_s:
                lines.append(
                    f"cluster vs make run at {ours.concurrency}: "
                    f"x{ours.turns_per_s / theirs.turns_per_s:.2f} turns/s"
                )
    return lines


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--levels",
        default=",".join(map(str, DEFAULT_LEVELS)),
        help="concurrent residents per level, comma-separated (at most 100)",
    )
    parser.add_argument("--no-cluster", action="store_true", help="only make run's stack")
    parser.add_argument("--cluster-url", help="a cluster already running (loopback)")
    parser.add_argument("--model", type=Path, help="the model (default: trained if needed)")
    args = parser.parse_args(argv)
    levels = [min(MAX_CONCURRENCY, max(1, int(x))) for x in args.levels.split(",")]
    if args.cluster_url:
        _check_loopback(args.cluster_url)
    started = time.monotonic()
    if args.model:
        model = args.model.resolve()
    else:
        from scripts.model_cache import ensure_model

        model, _ = ensure_model(ROOT / "config.yml")
    with contextlib.ExitStack() as stacks:
        print("[make run] starting the stack…", flush=True)
        targets = {"make run": stacks.enter_context(make_run_stack(model))}
        if args.cluster_url:
            targets["cluster"] = Target(args.cluster_url.rstrip("/"))
        elif not args.no_cluster and (why := cluster_missing()) is None:
            print("[cluster] starting make run-cluster's processes…", flush=True)
            targets["cluster"] = stacks.enter_context(cluster_stack(model))
        elif not args.no_cluster:
            print(f"(the cluster is not measured: {why})")
        results = run_levels(targets, levels)
    lines = report(results)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / "load.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"({time.monotonic() - started:.0f} s; table in var/bench/load.txt)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
