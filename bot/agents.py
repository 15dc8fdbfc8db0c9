"""Agent accounts, passwords and login tokens; ``python -m bot.agents`` manages accounts.

Each account has a role (`AgentRole`): ``agent`` by default, or ``supervisor``, who also
sees every case, the results dashboard (``/admin``) and the review of missed utterances;
``python -m bot.agents set-role USERNAME supervisor`` (or ``create --role supervisor``)
sets it, audited.

There is no default account and no default password anywhere: an operator creates each
account on the server with ``python -m bot.agents create USERNAME``, typing the password
twice (or piping it in once, for provisioning scripts). Passwords are stored as argon2
hashes. A login hands out a random opaque token; only its SHA-256 is stored (the token
has 256 bits of entropy, so a fast hash is enough and lookups stay cheap), with an
expiry. Hashing is slow on purpose, so it runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import logging
import os
import re
import secrets
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.errors import ErrorCode, Unauthorized
from bot.settings import get_settings
from bot.store.audit import AuditAction, record
from bot.store.db import Database
from bot.store.models import Agent, AgentToken, utcnow
from bot.views import LoginResult

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"^[\w.@-]{2,64}$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
TOKEN_BYTES = 32

_hasher = PasswordHasher()
# Each argon2 hash takes 64 MiB and already runs `parallelism` (4) threads for ~0.1 s;
# twenty at once (a shift logging in) thrash memory and CPU and take 5x longer in total
# than taking turns, so only as many run as the cores can carry.
_HASH_SLOTS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 1) // _hasher.parallelism))


class AccountError(ValueError):
    """A username or password the CLI must refuse; the text says why, for the operator."""


class AgentRole(StrEnum):
    """What an account may see; stored in ``agents.role``."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class AgentIdentity:
    """Who is calling, as the API sees it."""

    id: int
    username: str
    role: AgentRole = AgentRole.AGENT

    @property
    def is_supervisor(self) -> bool:
        """Whether the account may see every case, the dashboard and the review screen."""
        return self.role is AgentRole.SUPERVISOR


@dataclass(frozen=True)
class AgentSession:
    """A valid token's agent and when the token stops working."""

    agent: AgentIdentity
    expires_at: datetime


def hash_token(token: str) -> str:
    """What is stored for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_username(username: str) -> None:
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError("username: 2-64 letters, digits or . _ @ -")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"password: at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"password: at most {MAX_PASSWORD_CHARS} characters")


def _hash_now(password: str) -> str:
    with _HASH_SLOTS:
        return _hasher.hash(password)


async def _hash_password(password: str) -> str:
    return await asyncio.to_thread(_hash_now, password)


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown usernames, so timing does not reveal them."""
    return _hash_now(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        with _HASH_SLOTS:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_agent(
    database: Database, username: str, password: str, role: AgentRole = AgentRole.AGENT
) -> AgentIdentity:
    """Create an account (the CLI's ``create``); refuses duplicates and short passwords."""
    _check_username(username)
    _check_password(password)
    password_hash = await _hash_password(password)
    try:
        async with database.transaction() as session:
            agent = Agent(
                username=username, password_hash=password_hash, active=True, role=role.value
            )
            session.add(agent)
            await session.flush()
            identity = AgentIdentity(agent.id, agent.username, role)
    except IntegrityError as err:
        raise AccountError(f"agent {username!r} already exists") from err
    logger.info("created agent %s", username)
    return identity


async def set_password(database: Database, username: str, password: str) -> None:
    """Replace an agent's password and log out all of their sessions."""
    _check_password(password)
    password_hash = await _hash_password(password)
    async with database.transaction() as session:
        agent = await session.scalar(select(Agent).where(Agent.username == username))
        if agent is None:
            raise AccountError(f"no agent {username!r}")
        agent.password_hash = password_hash
        await session.execute(delete(AgentToken).where(AgentToken.agent_id == agent.id))
    logger.info("password changed for agent %s", username)


async def set_role(database: Database, username: str, role: AgentRole) -> None:
    """Make an account a supervisor or a plain agent again (the CLI's ``set-role``).

    Takes effect on the account's next request (roles are read with every token check);
    audited, since a supervisor sees every resident's case.
    """
    async with database.transaction() as session:
        agent = await session.scalar(select(Agent).where(Agent.username == username))
        if agent is None:
            raise AccountError(f"no agent {username!r}")
        agent.role = role.value
        record(session, AuditAction.SET_ROLE, agent_id=agent.id, detail={"role": role.value})
    logger.info("agent %s is now %s", username, role.value)


def _role_of(value: str) -> AgentRole:
    """The stored role; anything unknown is the least privileged one."""
    try:
        return AgentRole(value)
    except ValueError:
        return AgentRole.AGENT


async def list_agents(database: Database) -> list[str]:
    """Usernames, for the CLI's ``list``."""
    return [name for name, _ in await list_roles(database)]


async def list_roles(database: Database) -> list[tuple[str, AgentRole]]:
    """Usernames and their roles, for the CLI's ``list`` (who can see every case)."""
    async with database.read() as session:
        rows = await session.execute(select(Agent.username, Agent.role).order_by(Agent.username))
        return [(name, _role_of(role)) for name, role in rows]


class AgentAccounts:
    """Login, logout and token checks for the API; built once by the composition root."""

    def __init__(self, database: Database, token_ttl_s: float) -> None:
        self._db = database
        self._ttl = timedelta(seconds=token_ttl_s)

    async def login(self, username: str, password: str) -> LoginResult:
        """Check the password and hand out a new token; every attempt is audited."""
        async with self._db.read() as session:
            agent = await session.scalar(
                select(Agent).where(Agent.username == username, Agent.active.is_(True))
            )
        stored = agent.password_hash if agent is not None else _dummy_hash()
        ok = await asyncio.to_thread(_verify, stored, password)
        if agent is None or not ok:
            async with self._db.transaction() as session:
                record(
                    session,
                    AuditAction.LOGIN_FAILED,
                    agent_id=agent.id if agent is not None else None,
                )
            raise Unauthorized(ErrorCode.INVALID_CREDENTIALS)

        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = utcnow()
        expires_at = now + self._ttl
        rehash = await _hash_password(password) if _hasher.check_needs_rehash(stored) else None
        async with self._db.transaction() as session:
            # Expired tokens are useless; clearing them here keeps the table small.
            await session.execute(delete(AgentToken).where(AgentToken.expires_at < now))
            session.add(
                AgentToken(
                    agent_id=agent.id,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            if rehash is not None:
                await session.execute(
                    update(Agent).where(Agent.id == agent.id).values(password_hash=rehash)
                )
            record(session, AuditAction.LOGIN, agent_id=agent.id)
        return LoginResult(token=token, expires_at=expires_at, agent=agent.username)

    async def authenticate(self, token: str | None) -> AgentSession | None:
        """The session a bearer token belongs to, or None if it is unknown or expired."""
        if not token:
            return None
        async with self._db.read() as session:
            row = await session.execute(
                select(Agent.id, Agent.username, Agent.role, AgentToken.expires_at)
                .join(Agent, Agent.id == AgentToken.agent_id)
                .where(
                    AgentToken.token_hash == hash_token(token),
                    AgentToken.expires_at > utcnow(),
                    Agent.active.is_(True),
                )
            )
            found = row.first()
        if found is None:
            return None
        agent_id, username, role, expires_at = found
        return AgentSession(AgentIdentity(agent_id, username, _role_of(role)), expires_at)

    async def logout(self, token: str, agent: AgentIdentity) -> None:
        """Make the token useless at once."""
        async with self._db.transaction() as session:
            await session.execute(
                delete(AgentToken).where(AgentToken.token_hash == hash_token(token))
            )
            record(session, AuditAction.LOGOUT, agent_id=agent.id)


def read_new_password(prompt: str = "Password: ") -> str:
    """Twice from a terminal (so a typo is caught), once from a pipe."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Repeat password: ") != first:
            raise AccountError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise AccountError("no password on standard input")
    return line.rstrip("\r\n")


async def _run(command: str, username: str | None, role: str | None = None) -> None:
    database = Database(get_settings().database_url)
    try:
        await database.upgrade()
        if command == "list":
            for name, role in await list_roles(database):
                logger.info("%s %s", role.value, name)
            return
        assert username is not None
        if command == "set-role":
            await set_role(database, username, AgentRole(role or AgentRole.AGENT.value))
            return
        password = read_new_password()
        if command == "create":
            await create_agent(database, username, password, AgentRole(role or "agent"))
        else:
            await set_password(database, username, password)
    finally:
        await database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot.agents create [--role R]|set-password USERNAME``, ``set-role USERNAME
    ROLE`` or ``list``."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.agents",
        description="Manage agent accounts. The password is read from standard input.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    roles = [role.value for role in AgentRole]
    create = sub.add_parser("create", help="create an account")
    create.add_argument("username")
    create.add_argument("--role", choices=roles, default=AgentRole.AGENT.value)
    sub.add_parser("set-password", help="change a password").add_argument("username")
    set_role_parser = sub.add_parser("set-role", help="make an account a supervisor or an agent")
    set_role_parser.add_argument("username")
    set_role_parser.add_argument("role", choices=roles)
    sub.add_parser("list", help="list the accounts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("bot.store.db").setLevel(logging.WARNING)
    try:
        asyncio.run(
            _run(args.command, getattr(args, "username", None), getattr(args, "role", None))
        )
    except AccountError as err:
        logger.error("error: %s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
