"""endpoints.yml without its environment: Rasa must refuse it by name, not invent a file.

Rasa substitutes ``${VAR}`` only in plain (unquoted) YAML scalars. A quoted
``"${RASA_TRACKER_DB}"`` once reached the SQL tracker store as it is, and Rasa created a
SQLite file of that name in the working directory (one got committed). Unquoted, an
unset variable stops ``rasa run`` / ``rasa shell`` with a message naming it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.model_cache import ROOT

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
VARIABLES = (
    "ACTION_ENDPOINT_URL",
    "RASA_TRACKER_DIALECT",
    "RASA_TRACKER_HOST",
    "RASA_TRACKER_DB",
    "RASA_TRACKER_USER",
    "RASA_TRACKER_PASSWORD",
    "RASA_LOCK_STORE",
    "RASA_LOCK_STORE_URL",
    "RASA_LOCK_STORE_PORT",
)


def embedded(**env: str) -> dict[str, str]:
    """`make run`'s engine stores (SQLite, locks in memory), then `env` on top."""
    from scripts.stack import ENGINE_STORES_EMBEDDED

    return {**ENGINE_STORES_EMBEDDED, **env}


def rasa_run(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`rasa run` in `cwd` (holding a copy of endpoints.yml), with only `env` of ours set."""
    if not RASA.exists():
        pytest.skip("no engine environment (.venv-rasa): run `make setup`")
    shutil.copy(ROOT / "endpoints.yml", cwd / "endpoints.yml")
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return subprocess.run(
        [str(RASA), "run", "--endpoints", "endpoints.yml", "--model", "no-such-model"],
        cwd=cwd,
        env={**base, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_unset_tracker_db_stops_rasa_with_its_name_and_creates_no_file(tmp_path: Path) -> None:
    done = rasa_run(tmp_path, **embedded(ACTION_ENDPOINT_URL="http://127.0.0.1:9/webhook"))

    assert done.returncode != 0
    assert "RASA_TRACKER_DB" in done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["endpoints.yml"]


def test_unset_action_endpoint_stops_rasa_with_its_name(tmp_path: Path) -> None:
    done = rasa_run(tmp_path, **embedded(RASA_TRACKER_DB=str(tmp_path / "tracker.db")))

    assert done.returncode != 0
    assert "ACTION_ENDPOINT_URL" in done.stdout + done.stderr


def test_every_variable_in_endpoints_is_unquoted() -> None:
    """Quoted, Rasa would pass ``${…}`` on literally instead of substituting it."""
    text = (ROOT / "endpoints.yml").read_text(encoding="utf-8")
    values = [
        line for line in text.splitlines() if "${" in line and not line.lstrip().startswith("#")
    ]
    assert len(values) == len(VARIABLES)
    assert all(f": ${{{name}}}" in text for name in VARIABLES)
    assert not any('"${' in line or "'${" in line for line in values)


def git(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_no_file_named_after_a_variable_is_committed_or_committable() -> None:
    tracked = git("ls-files", "-z").stdout.split("\0")
    assert [path for path in tracked if "${" in path] == []
    # --no-index: check the patterns themselves, whether or not such a file exists.
    for name in ("${RASA_TRACKER_DB}", "${ANY_VARIABLE}", "var/${RASA_TRACKER_DB}"):
        assert git("check-ignore", "-q", "--no-index", name).returncode == 0, name
