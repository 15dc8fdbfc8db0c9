"""`make run-cluster`: the assistant as several processes on PostgreSQL, Redis and HAProxy.

The same front door as `make run` (http://127.0.0.1:8000), but behind it:

- HAProxy (Debian's ``haproxy``) on :8000 balancing 2 gateways, and on two inner ports
  balancing 2 Rasa servers and 2 action servers (health-checked; a dead backend is taken
  out within about two seconds, a refused connection is retried on the other one);
- PostgreSQL (its own data directory, var/cluster/postgres): the gateway's database and
  Rasa's tracker store (``endpoints.yml`` from the environment, `ENGINE_STORES_EMBEDDED`'s
  cluster counterpart below);
- Redis (var/cluster/redis, append-only file): Rasa's lock store, the gateway's event
  stream, per-sender locks and the Telegram poller's lease (bot/redis_*).

Nothing here is cluster software of our own: processes are started and stopped with
`scripts.stack.Stack` (one code path with `make run`), and the tests of the faults
(tests/app/test_cluster_faults.py) use `Cluster` on free ports with a temporary var dir.
Only the standard library, like scripts/stack.py.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.stack import (
    APP_PYTHON,
    ROOT,
    TRACKER_KEY_VARIABLE,
    Stack,
    StackConfig,
    actions_argv,
    rasa_argv,
    rasa_token,
    run_in_foreground,
    tracker_key,
    wait_http,
)

logger = logging.getLogger("cluster")

INSTALL_HINT = "sudo bash scripts/system-deps.sh"
POSTGRES_USER = "postgres"  # the superuser initdb creates; our own cluster, own password
GATEWAY_DB = "gateway"
TRACKER_DB = "rasa"
# Rasa's Redis lock: a ticket left by a killed Rasa blocks its conversation this long.
# Short, since the gateway's own per-sender lock (bot/redis_lock.py) orders the turns.
RASA_TICKET_LOCK_LIFETIME_S = 15


class MissingSystemPackages(RuntimeError):
    """PostgreSQL, Redis or HAProxy is not installed; the message says how to install them."""


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/<v>/bin)."""
    base = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in base.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


def missing_packages() -> list[str]:
    """Debian packages `make run-cluster` needs that are not installed."""
    missing = []
    if postgres_bin() is None:
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if shutil.which("haproxy") is None:
        missing.append("haproxy")
    return missing


def require_packages() -> None:
    missing = missing_packages()
    if missing:
        raise MissingSystemPackages(
            f"make run-cluster needs {', '.join(missing)} (Debian packages); "
            f"install them with: {INSTALL_HINT}"
        )


@dataclass
class ClusterConfig:
    """Ports and directories; the defaults are `make run-cluster`'s."""

    model: Path
    var_dir: Path = ROOT / "var" / "cluster"
    front_port: int = 8000
    gateway_ports: tuple[int, ...] = (8001, 8002)
    rasa_ports: tuple[int, ...] = (5006, 5007)
    actions_ports: tuple[int, ...] = (5056, 5057)
    rasa_lb_port: int = 5005
    actions_lb_port: int = 5055
    postgres_port: int = 5442
    redis_port: int = 6390
    log_dir: Path | None = None  # None: var_dir/logs

    @property
    def front_url(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    @property
    def logs(self) -> Path:
        return self.log_dir if self.log_dir is not None else self.var_dir / "logs"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"


def _reachable_by_others(path: Path) -> bool:
    """Every directory above `path` lets other accounts through (o+x)."""
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.exists())


def _secret(path: Path) -> str:
    """A password kept in var (0600), made once."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(24))
    return path.read_text(encoding="ascii").strip()


ERROR_BODY = '{"error":{"code":"engine_unavailable","message":"稍等一下，请再说一遍。"}}'


def _error_file(path: Path, status: int, reason: str) -> Path:
    """HAProxy's answer when no gateway can take a request: the gateway's own error shape,
    in plain Chinese, so a web chat or kiosk says 请再说一遍 rather than showing a 502 page."""
    body = ERROR_BODY.encode()
    path.write_bytes(
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    return path


def haproxy_config(cfg: ClusterConfig) -> str:
    """Three frontends: the gateways (the front door), Rasa and the action servers.

    ``retry-on conn-failure`` + ``redispatch``: a request that could not reach a dead
    backend goes to the other one. A request already sent is not replayed to another
    gateway (the user's turn may be stored). Rasa's and the action server's are
    (``empty-response``): Rasa keeps a turn only once it has answered it, so a Rasa killed
    mid-turn kept nothing; an action that died mid-call would otherwise leave Rasa
    answering the resident with nothing at all. (An action killed after writing and before
    answering runs twice: recording an authentication twice records it once more.)
    """
    errors = cfg.var_dir / "haproxy"
    errors.mkdir(parents=True, exist_ok=True)
    files = {
        502: _error_file(errors / "502.http", 502, "Bad Gateway"),
        503: _error_file(errors / "503.http", 503, "Service Unavailable"),
        504: _error_file(errors / "504.http", 504, "Gateway Timeout"),
    }
    errorfiles = "".join(f"    errorfile {code} {path}\n" for code, path in files.items())

    def backend(name: str, ports: tuple[int, ...], check: str, retry_on: str) -> str:
        servers = "".join(
            f"    server {name}{i + 1} 127.0.0.1:{port} check inter 1s fall 2 rise 1\n"
            for i, port in enumerate(ports)
        )
        return (
            f"backend {name}\n"
            # Turns differ in cost (a form step calls the action server, small talk does
            # not): the least busy server, not the next in turn, keeps the slow tail short.
            "    balance leastconn\n"
            f"    option httpchk GET {check}\n"
            "    retries 3\n"
            "    option redispatch 1\n"
            f"    retry-on {retry_on}\n"
            f"{servers}"
        )

    return (
        "global\n"
        "    maxconn 4096\n"
        "defaults\n"
        "    mode http\n"
        "    timeout connect 2s\n"
        "    timeout client 120s\n"
        "    timeout server 120s\n"
        "    timeout tunnel 1h\n"  # WebSockets (consoles, kiosks)
        # A gateway's /health asks Rasa and the action server (3 s each at most): under load
        # a check cut at `inter` (1 s) took both gateways out and the front door said 503.
        "    timeout check 7s\n"
        "    option http-buffer-request\n"
        f"{errorfiles}"
        "frontend front\n"
        f"    bind 127.0.0.1:{cfg.front_port}\n"
        "    default_backend gateways\n"
        "frontend rasa\n"
        f"    bind 127.0.0.1:{cfg.rasa_lb_port}\n"
        "    default_backend rasa_servers\n"
        "frontend actions\n"
        f"    bind 127.0.0.1:{cfg.actions_lb_port}\n"
        "    default_backend action_servers\n"
        + backend("gateways", cfg.gateway_ports, "/health", "conn-failure")
        + backend("rasa_servers", cfg.rasa_ports, "/", "conn-failure empty-response")
        + backend("action_servers", cfg.actions_ports, "/health", "conn-failure empty-response")
    )


@dataclass
class Cluster:
    """Start, stop, kill and restart the cluster's processes (names: `process_names`)."""

    config: ClusterConfig
    stack: Stack = field(init=False)

    def __post_init__(self) -> None:
        cfg = self.config
        self.stack = Stack(
            StackConfig(model=cfg.model, var_dir=cfg.var_dir, log_dir=cfg.logs),
            stop_signals={"postgres": signal.SIGINT},
        )
        self._pg_password = ""
        self._pg_bin = postgres_bin()

    # -- environment

    @property
    def database_url(self) -> str:
        return (
            f"postgresql+asyncpg://{POSTGRES_USER}:{self._pg_password}"
            f"@127.0.0.1:{self.config.postgres_port}/{GATEWAY_DB}"
        )

    def _env(self) -> dict[str, str]:
        cfg = self.config
        keep = {k: v for k, v in os.environ.items() if k != TRACKER_KEY_VARIABLE}
        return {
            **keep,
            "PYTHONPATH": str(ROOT),
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "VAR_DIR": str(cfg.var_dir),
            "RASA_TOKEN": rasa_token(cfg.var_dir),
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{cfg.actions_lb_port}/webhook",
            "RASA_TRACKER_DIALECT": "postgresql",
            "RASA_TRACKER_HOST": f"127.0.0.1:{cfg.postgres_port}",
            "RASA_TRACKER_DB": TRACKER_DB,
            "RASA_TRACKER_USER": POSTGRES_USER,
            "RASA_TRACKER_PASSWORD": self._pg_password,
            "RASA_LOCK_STORE": "redis",
            "RASA_LOCK_STORE_URL": "127.0.0.1",
            "RASA_LOCK_STORE_PORT": str(cfg.redis_port),
            "TICKET_LOCK_LIFETIME": str(RASA_TICKET_LOCK_LIFETIME_S),
            "DATABASE_URL": self.database_url,
            "GATEWAY_REDIS_URL": cfg.redis_url,
            "GATEWAY_RASA_URL": f"http://127.0.0.1:{cfg.rasa_lb_port}",
            "GATEWAY_ACTION_SERVER_URL": f"http://127.0.0.1:{cfg.actions_lb_port}",
            "GATEWAY_HOST": "127.0.0.1",
        }

    # -- PostgreSQL

    @property
    def postgres_dir(self) -> Path:
        """PostgreSQL's data directory (see `_pg_dir`)."""
        return self._pg_dir()

    def _pg_dir(self) -> Path:
        """var/cluster/postgres; or, run as root where the ``postgres`` account cannot
        reach var/ (a checkout under /root), a directory of its own under /var/tmp."""
        data = self.config.var_dir / "postgres"
        if self._as_postgres_user() is None or _reachable_by_others(self.config.var_dir):
            return data
        digest = hashlib.sha256(str(self.config.var_dir).encode()).hexdigest()[:12]
        return Path("/var/tmp") / f"assistant-cluster-{digest}" / "postgres"

    def _as_postgres_user(self) -> str | None:
        """PostgreSQL refuses to run as root: then it runs as Debian's ``postgres`` account."""
        return "postgres" if os.geteuid() == 0 else None

    def _init_postgres(self) -> None:
        assert self._pg_bin is not None
        data = self._pg_dir()
        self._pg_password = _secret(self.config.var_dir / "postgres_password")
        if (data / "PG_VERSION").exists():
            return
        data.mkdir(parents=True, exist_ok=True)
        data.parent.chmod(0o755)
        data.chmod(0o700)
        pwfile = data.parent / "postgres_pwfile"
        pwfile.write_text(self._pg_password, encoding="ascii")
        user = self._as_postgres_user()
        if user is not None:
            shutil.chown(data, user)
            shutil.chown(pwfile, user)
        try:
            subprocess.run(
                [
                    str(self._pg_bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    POSTGRES_USER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start_postgres(self) -> None:
        assert self._pg_bin is not None
        self.stack.spawn(
            "postgres",
            [
                str(self._pg_bin / "postgres"),
                "-D",
                str(self._pg_dir()),
                "-p",
                str(self.config.postgres_port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=on",
            ],
            self._env(),
            user=self._as_postgres_user(),
        )
        self._wait_postgres(time.monotonic() + 60)

    def _psql(self, sql: str, db: str = "postgres") -> str:
        assert self._pg_bin is not None
        done = subprocess.run(
            [
                str(self._pg_bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.config.postgres_port),
                "-U",
                POSTGRES_USER,
                "-d",
                db,
                "-tAqc",
                sql,
            ],
            env={**os.environ, "PGPASSWORD": self._pg_password, "PGCONNECT_TIMEOUT": "2"},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip() or f"psql exited with {done.returncode}")
        return done.stdout.strip()

    def _wait_postgres(self, deadline: float) -> None:
        proc = self.stack.processes["postgres"]
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"postgres exited with code {proc.returncode} while starting")
            try:
                self._psql("SELECT 1")
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def _create_databases(self) -> None:
        for name in (GATEWAY_DB, TRACKER_DB):
            if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
                self._psql(f'CREATE DATABASE "{name}"')

    # -- Redis and HAProxy

    def start_redis(self) -> None:
        data = self.config.var_dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        self.stack.spawn(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.config.redis_port),
                "--dir",
                str(data),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
            ],
            self._env(),
        )
        deadline = time.monotonic() + 30
        while not self._redis_ping():
            if time.monotonic() > deadline:
                raise TimeoutError("redis did not answer")
            time.sleep(0.2)

    def _redis_ping(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.config.redis_port), "ping"],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() == "PONG"

    def start_haproxy(self) -> None:
        path = self.config.var_dir / "haproxy.cfg"
        path.write_text(haproxy_config(self.config), encoding="utf-8")
        self.stack.spawn("haproxy", ["haproxy", "-db", "-f", str(path)], self._env())

    # -- the assistant's processes

    def start_actions(self, index: int) -> None:
        self.stack.spawn(
            f"actions{index + 1}", actions_argv(self.config.actions_ports[index]), self._env()
        )

    def start_rasa(self, index: int) -> None:
        env = {**self._env(), TRACKER_KEY_VARIABLE: tracker_key(self.config.var_dir)}
        self.stack.spawn(
            f"rasa{index + 1}", rasa_argv(self.config.model, self.config.rasa_ports[index]), env
        )

    def start_gateway(self, index: int) -> None:
        env = {**self._env(), "GATEWAY_PORT": str(self.config.gateway_ports[index])}
        self.stack.spawn(f"gateway{index + 1}", [str(APP_PYTHON), "-m", "channels"], env)

    def _migrate(self) -> None:
        """Once, before the gateways start: two at once would race on Alembic's table."""
        subprocess.run(
            [str(APP_PYTHON), "-m", "bot.store.db", "upgrade"],
            cwd=ROOT,
            env=self._env(),
            check=True,
            capture_output=True,
        )

    def _tracker_table_ready(self) -> bool:
        try:
            return self._psql("SELECT to_regclass('public.events') IS NOT NULL", TRACKER_DB) == "t"
        except RuntimeError:
            return False

    def wait_ready(self, name: str, deadline: float) -> None:
        """Wait for one process (by name) to answer its health URL."""
        cfg = self.config
        if not name[-1].isdigit():
            return  # postgres, redis and haproxy were waited for as they started
        index = int(name[-1]) - 1
        proc = self.stack.processes[name]
        if name.startswith("actions"):
            wait_http(f"http://127.0.0.1:{cfg.actions_ports[index]}/health", deadline, proc, name)
        elif name.startswith("rasa"):
            wait_http(f"http://127.0.0.1:{cfg.rasa_ports[index]}/", deadline, proc, name)
        elif name.startswith("gateway"):
            wait_http(f"http://127.0.0.1:{cfg.gateway_ports[index]}/health", deadline, proc, name)

    def start(self, timeout_s: float = 420) -> None:
        """Everything, in dependency order; the front door answers when this returns."""
        require_packages()
        cfg = self.config
        cfg.var_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_s
        try:
            self._init_postgres()
            self.start_postgres()
            self._create_databases()
            self.start_redis()
            self.start_haproxy()
            for i in range(len(cfg.actions_ports)):
                self.start_actions(i)
            # The first Rasa creates the tracker tables; a second one at the same moment
            # would race it on CREATE TABLE, so it starts once the table is there.
            self.start_rasa(0)
            self._migrate()
            for i in range(len(cfg.gateway_ports)):
                self.start_gateway(i)
            while not self._tracker_table_ready():
                if self.stack.processes["rasa1"].poll() is not None or time.monotonic() > deadline:
                    self.wait_ready("rasa1", deadline)  # raises with the reason
                time.sleep(0.5)
            for i in range(1, len(cfg.rasa_ports)):
                self.start_rasa(i)
            for name in list(self.stack.processes):
                self.wait_ready(name, deadline)
            front = self.stack.processes["haproxy"]
            wait_http(f"{cfg.front_url}/health", deadline, front, "haproxy")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.stack.stop()

    # -- faults (tests)

    def kill(self, name: str) -> None:
        """SIGKILL one process (its whole group), as a crash would."""
        proc = self.stack.processes[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def restart(self, name: str, *, hard: bool = False) -> None:
        """Stop one process (SIGKILL when `hard`, else its usual signal) and start it again."""
        proc = self.stack.processes[name]
        if proc.poll() is not None:
            pass  # already dead (killed by a test): just start it again
        elif hard:
            self.kill(name)
        else:
            os.killpg(proc.pid, self.stack.stop_signals.get(name, signal.SIGTERM))
            proc.wait(timeout=30)
        deadline = time.monotonic() + 240
        if name == "postgres":
            self.start_postgres()
        elif name == "redis":
            self.start_redis()
        elif name == "haproxy":
            self.start_haproxy()
        else:
            index = int(name[-1]) - 1
            starter = {"actions": self.start_actions, "rasa": self.start_rasa}.get(
                name[:-1], self.start_gateway
            )
            starter(index)
            self.wait_ready(name, deadline)

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    """`make run-cluster`: start everything in the foreground until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        require_packages()
    except MissingSystemPackages as err:
        logger.error("%s", err)
        return 2
    from scripts.model_cache import ensure_model

    model, _ = ensure_model(ROOT / "config.yml")
    cfg = ClusterConfig(model=model)
    cluster = Cluster(cfg)
    logger.info(
        "starting PostgreSQL, Redis, HAProxy, 2 action servers, 2 Rasa, 2 gateways "
        "(a few minutes; logs in %s)…",
        cfg.logs,
    )
    cluster.start()
    logger.info(
        "\nReady. Front door (HAProxy): %s  (health: %s/health)\n"
        "Gateways :%s, Rasa :%s (via :%d), action servers :%s (via :%d),\n"
        "PostgreSQL :%d, Redis :%d; data in %s.\n"
        "Press Ctrl-C to stop everything.",
        cfg.front_url,
        cfg.front_url,
        ",".join(map(str, cfg.gateway_ports)),
        ",".join(map(str, cfg.rasa_ports)),
        cfg.rasa_lb_port,
        ",".join(map(str, cfg.actions_ports)),
        cfg.actions_lb_port,
        cfg.postgres_port,
        cfg.redis_port,
        cfg.var_dir,
    )
    run_in_foreground(cluster.stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
