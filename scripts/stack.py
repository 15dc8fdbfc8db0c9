"""Start and stop the three processes: action server, Rasa server, gateway.

Used by `make run` (in the foreground, Ctrl-C stops all three) and by the integration
tests (on free ports, with a temporary `var/`). Only the standard library, so it runs
from the app environment without importing the engine.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE_BIN = ROOT / ".venv-rasa" / "bin"
APP_PYTHON = ROOT / ".venv" / "bin" / "python"

logger = logging.getLogger("stack")


@dataclass
class StackConfig:
    model: Path
    var_dir: Path = ROOT / "var"
    rasa_port: int = 5005
    actions_port: int = 5055
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    log_dir: Path | None = None  # None: processes write to this terminal

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"


def rasa_token(var_dir: Path) -> str:
    """The Rasa HTTP API token: $RASA_TOKEN, else one generated once and kept in var/."""
    if os.environ.get("RASA_TOKEN"):
        return os.environ["RASA_TOKEN"]
    path = var_dir / "rasa_token"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


TRACKER_KEY_VARIABLE = "RASA_TRACKER_KEY"

# endpoints.yml for one Rasa process: SQLite tracker store (RASA_TRACKER_DB is the file),
# locks in memory. `make run-cluster` (scripts/cluster.py) gives PostgreSQL and Redis instead.
ENGINE_STORES_EMBEDDED = {
    "RASA_TRACKER_DIALECT": "sqlite",
    "RASA_TRACKER_HOST": "",
    "RASA_TRACKER_USER": "",
    "RASA_TRACKER_PASSWORD": "",
    "RASA_LOCK_STORE": "in_memory",
    "RASA_LOCK_STORE_URL": "",
    "RASA_LOCK_STORE_PORT": "",
}


def tracker_key(var_dir: Path) -> str:
    """The key of Rasa's encrypted tracker store: $RASA_TRACKER_KEY, else var/tracker_key.

    Created once, readable by this user only (0600 from the start, never briefly wider),
    as a Fernet key: 32 random bytes in urlsafe base64. Losing it loses the conversations.
    """
    if os.environ.get(TRACKER_KEY_VARIABLE):
        return os.environ[TRACKER_KEY_VARIABLE]
    path = var_dir / "tracker_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        key = base64.urlsafe_b64encode(secrets.token_bytes(32))
        with contextlib.suppress(FileExistsError):  # another stack made it meanwhile
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(key)
    return path.read_text(encoding="ascii").strip()


def wait_http(url: str, deadline: float, proc: subprocess.Popen[bytes], name: str) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{name} did not answer at {url}")


def actions_argv(port: int) -> list[str]:
    """The action server (engine environment) on `port`."""
    return [str(ENGINE_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)]


def rasa_argv(model: Path, port: int) -> list[str]:
    """`rasa run` through scripts.rasa_server, which takes the token from $RASA_TOKEN: on
    the command line every local user could read it with `ps`."""
    return [
        str(ENGINE_BIN / "python"),
        "-m",
        "scripts.rasa_server",
        "--model",
        str(model),
        "--enable-api",
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        "credentials.yml",
    ]


@dataclass
class Stack:
    config: StackConfig
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stop_signals: dict[str, int] = field(default_factory=dict)

    def spawn(
        self, name: str, argv: list[str], env: dict[str, str], *, user: str | None = None
    ) -> subprocess.Popen[bytes]:
        """Start one process in its own process group (so `stop` ends its children too),
        logging to log_dir/<name>.log when set; `user`: run as that account (PostgreSQL
        refuses to run as root)."""
        out = None
        if self.config.log_dir is not None:
            self.config.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.config.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
            user=user,
        )
        self.processes[name] = proc
        return proc

    def start(self, timeout_s: float = 240) -> None:
        cfg = self.config
        cfg.var_dir.mkdir(parents=True, exist_ok=True)
        token = rasa_token(cfg.var_dir)
        env = {
            **{k: v for k, v in os.environ.items() if k != TRACKER_KEY_VARIABLE},
            "PYTHONPATH": str(ROOT),
            "ACTION_ENDPOINT_URL": f"{cfg.actions_url}/webhook",
            "GATEWAY_ACTION_SERVER_URL": cfg.actions_url,
            **ENGINE_STORES_EMBEDDED,
            "RASA_TRACKER_DB": str(cfg.var_dir / "tracker.db"),
            "DATABASE_URL": os.environ.get(
                "DATABASE_URL", f"sqlite+aiosqlite:///{cfg.var_dir / 'gateway.db'}"
            ),
            "VAR_DIR": str(cfg.var_dir),
            "RASA_TOKEN": token,
            "GATEWAY_RASA_URL": cfg.rasa_url,
            "GATEWAY_HOST": cfg.gateway_host,
            "GATEWAY_PORT": str(cfg.gateway_port),
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }
        deadline = time.monotonic() + timeout_s
        try:
            actions = self.spawn("actions", actions_argv(cfg.actions_port), env)
            # `rasa run` through scripts.rasa_server, which takes the token from
            # $RASA_TOKEN: on the command line every local user could read it with `ps`.
            # Only Rasa gets the tracker store's key, and only in its environment.
            rasa = self.spawn(
                "rasa",
                rasa_argv(cfg.model, cfg.rasa_port),
                {**env, TRACKER_KEY_VARIABLE: tracker_key(cfg.var_dir)},
            )
            gateway = self.spawn("gateway", [str(APP_PYTHON), "-m", "channels"], env)
            wait_http(f"{cfg.actions_url}/health", deadline, actions, "action server")
            wait_http(f"{cfg.rasa_url}/", deadline, rasa, "rasa server")
            wait_http(f"{cfg.gateway_url}/health", deadline, gateway, "gateway")
        except BaseException:
            self.stop()
            raise

    def stop(self, grace_s: float = 15) -> None:
        """SIGTERM each process group, then SIGKILL what is still running after the grace time.

        A process named in `stop_signals` gets its own signal instead (PostgreSQL: SIGINT,
        its fast shutdown; SIGTERM would wait for every client to leave)."""
        for name, proc in self.processes.items():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, self.stop_signals.get(name, signal.SIGTERM))
        deadline = time.monotonic() + grace_s
        for name, proc in self.processes.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in time; killing it", name)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.processes.clear()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def prepare_voice() -> None:
    """Before the gateway starts: the Vosk model found, or downloaded (with Vosk's progress
    bar) where the internet is reachable; else one line on how to provide it. Text works
    either way. Imported here: the rest of this module needs only the standard library."""
    from voice.model_download import prepare_model
    from voice.settings import get_voice_settings

    result = prepare_model(get_voice_settings())
    (logger.info if result.path is not None else logger.warning)("%s", result.message)


def run_in_foreground(stack: Stack) -> None:
    """Until Ctrl-C (or SIGTERM), or until one process exits; then stop them all.

    Shared with `make run-cluster` (scripts/cluster.py)."""
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            for name, proc in list(stack.processes.items()):
                if proc.poll() is not None:
                    logger.error("%s exited with code %s; stopping the rest", name, proc.returncode)
                    stopping = True
            time.sleep(0.5)
    finally:
        logger.info("stopping…")
        stack.stop()
        logger.info("stopped.")


def main() -> int:
    """`make run`: start everything in the foreground until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from scripts.model_cache import ROOT as _root
    from scripts.model_cache import ensure_model

    model, _ = ensure_model(_root / "config.yml")
    cfg = StackConfig(
        model=model,
        gateway_host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
        gateway_port=int(os.environ.get("GATEWAY_PORT", "8000")),
    )
    prepare_voice()
    stack = Stack(cfg)
    logger.info("starting the action server, Rasa and the gateway (about a minute)…")
    stack.start()
    logger.info(
        "\nReady. Gateway: %s  (health: %s/health)\n"
        "Talk to it:\n  curl -s %s/webhooks/rest/webhook -H 'content-type: application/json' "
        '-d \'{"sender": "me", "message": "你好"}\'\n'
        "Press Ctrl-C to stop all three processes.",
        cfg.gateway_url,
        cfg.gateway_url,
        cfg.gateway_url,
    )
    run_in_foreground(stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
