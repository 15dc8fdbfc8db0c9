"""`make bench` (NLU part): training time, /model/parse latency and held-out accuracy of
this project's pipeline against a stock Rasa Chinese pipeline, both measured in this run.

Each model is trained cold (empty Rasa cache, temporary output folder), served by a real
`rasa run --enable-api`, and asked to parse every held-out example over HTTP.
Engine env:  python -m scripts.bench_nlu [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.bench_stacks import free_port
from scripts.evaluate_nlu import Example, Report, load_examples, score

ROOT = Path(__file__).resolve().parent.parent
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
PIPELINES = {
    "project (nlu/)": ROOT / "config.yml",
    "stock Rasa zh": ROOT / "scripts" / "config_stock.yml",
}
TRAIN_TARGET_S = 180
PARSE_P50_TARGET_MS = 25


@dataclass
class Result:
    train_s: float
    p50_ms: float
    p95_ms: float
    report: Report


def _env(cache_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_CACHE_DIRECTORY": str(cache_dir),
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


def train(config: Path, workdir: Path) -> tuple[Path, float]:
    """Cold `rasa train` of the whole model (NLU and dialogue); returns model and wall time."""
    started = time.perf_counter()
    subprocess.run(
        [str(RASA), "train", "--config", str(config), "--domain", "domain.yml",
         "--data", "data", "--out", str(workdir), "--fixed-model-name", config.stem,
         "--quiet"],
        cwd=ROOT, env=_env(workdir / "cache"), check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return workdir / f"{config.stem}.tar.gz", time.perf_counter() - started


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


def serve_and_parse(
    model: Path, texts: list[str], workdir: Path, rounds: int
) -> tuple[list[dict[str, Any]], list[float]]:
    port, token = free_port(), secrets.token_urlsafe(16)
    server = subprocess.Popen(
        [str(RASA), "run", "--model", str(model), "--enable-api", "--auth-token", token,
         "--interface", "127.0.0.1", "--port", str(port), "--quiet"],
        cwd=workdir, env=_env(workdir / "cache"), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/model/parse?token={token}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                _post(url, {"text": "你好"})
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("rasa server did not start") from None
                time.sleep(0.5)
        for text in texts[:20]:  # warm-up
            _post(url, {"text": text})
        latencies: list[float] = []
        parses: list[dict[str, Any]] = []
        for round_ in range(rounds):
            for text in texts:
                started = time.perf_counter()
                parse = _post(url, {"text": text})
                latencies.append((time.perf_counter() - started) * 1000)
                if round_ == 0:
                    parses.append(parse)
        return parses, latencies
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def measure(
    config: Path, examples: list[Example], rounds: int
) -> tuple[Result, list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        model, train_s = train(config, workdir)
        parses, latencies = serve_and_parse(model, [e.text for e in examples], workdir, rounds)
    return Result(
        train_s, statistics.median(latencies), percentile(latencies, 95), score(examples, parses)
    ), parses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="parse passes over the held-out file")
    args = parser.parse_args()
    examples = load_examples()
    texts = [e.text for e in examples]
    results: dict[str, Result] = {}
    for name, config in PIPELINES.items():
        print(f"training and serving: {name} ({config.name}) …", flush=True)
        results[name], _ = measure(config, examples, args.rounds)

    ours, stock = results["project (nlu/)"], results["stock Rasa zh"]
    rows = [
        ("rasa train wall time (s)", "train_s", "{:.0f}"),
        ("/model/parse p50 (ms)", "p50_ms", "{:.1f}"),
        ("/model/parse p95 (ms)", "p95_ms", "{:.1f}"),
    ]
    print(f"\nNLU benchmark: {len(texts)} held-out examples x {args.rounds} rounds, 2 cores\n")
    print(f"{'':<28}{'project':>10}{'stock':>10}{'ratio':>8}")
    for label, attr, fmt in rows:
        a, b = getattr(ours, attr), getattr(stock, attr)
        print(f"{label:<28}{fmt.format(a):>10}{fmt.format(b):>10}{a / b:>8.2f}")
    acc_a, acc_b = ours.report.intent_accuracy, stock.report.intent_accuracy
    print(f"{'intent accuracy':<28}{acc_a:>10.3f}{acc_b:>10.3f}{acc_a / acc_b:>8.2f}")
    for entity in ("id_number", "phone_number", "person_name", "district", "service"):
        fa, fb = ours.report.entity(entity).f1, stock.report.entity(entity).f1
        ratio = f"{fa / fb:>8.2f}" if fb else f"{'n/a':>8}"
        print(f"{entity + ' F1':<28}{fa:>10.3f}{fb:>10.3f}{ratio}")
    train_ok = "met" if ours.train_s <= TRAIN_TARGET_S else "MISSED"
    parse_ok = "met" if ours.p50_ms <= PARSE_P50_TARGET_MS else "MISSED"
    print(
        f"\ntargets: train <= {TRAIN_TARGET_S} s: {train_ok}; "
        f"parse p50 <= {PARSE_P50_TARGET_MS} ms: {parse_ok}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
