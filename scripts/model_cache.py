"""Train the Rasa model only when its inputs changed.

The model is named by a hash of everything training reads (config, domain, data, the
nlu/ components and the engine lock file), so `make run` and `make test` reuse it and
CI does not retrain needlessly. Runs in either environment: only the standard library.

    python -m scripts.model_cache [--config config.yml] [--print-path]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"

logger = logging.getLogger("model_cache")


def training_inputs(config: Path) -> list[Path]:
    """Every file whose content changes what `rasa train` produces."""
    files = [config, ROOT / "domain.yml", ROOT / "requirements" / "engine.lock"]
    for folder in (ROOT / "data", ROOT / "nlu"):
        files += [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(files)


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def inputs_hash(config: Path) -> str:
    return _digest(training_inputs(config))


def _files_hash(folder: Path) -> str:
    return _digest(sorted(p for p in folder.rglob("*") if p.is_file()))


def model_path(config: Path) -> Path:
    return MODELS_DIR / f"{config.stem}-{inputs_hash(config)}.tar.gz"


def ensure_model(config: Path) -> tuple[Path, float | None]:
    """Returns the model for ``config``, training it first if needed (and how long that took)."""
    target = model_path(config)
    if target.exists():
        logger.info("model up to date: %s", target.relative_to(ROOT))
        return target, None
    MODELS_DIR.mkdir(exist_ok=True)
    started = time.perf_counter()
    # Rasa's own training cache keys JiebaTokenizer by its config, not by the dictionary
    # files: a cache per dictionary content keeps an edited dictionary from being ignored.
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_CACHE_DIRECTORY": str(
            MODELS_DIR / ".rasa-cache" / _files_hash(ROOT / "nlu" / "dict")
        ),
    }
    subprocess.run(
        [
            str(RASA),
            "train",
            "--config",
            str(config),
            "--domain",
            str(ROOT / "domain.yml"),
            "--data",
            str(ROOT / "data"),
            "--out",
            str(MODELS_DIR),
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    elapsed = time.perf_counter() - started
    logger.info("trained %s in %.0f s", target.relative_to(ROOT), elapsed)
    return target, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument(
        "--print-path", action="store_true", help="only print where the model is (or would be)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    config = args.config.resolve()
    if args.print_path:
        print(model_path(config))
        return 0
    path, _ = ensure_model(config)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
