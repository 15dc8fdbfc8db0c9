"""Rasa's SQL tracker store with every event encrypted at rest (Fernet, key from the env).

endpoints.yml names it (``type: engine_ext.tracker_store.EncryptedSQLTrackerStore``) with
the same keys as Rasa's ``type: SQL``. Rasa's own `SQLTrackerStore` still makes the engine
and the schema; the ``data`` column holds a Fernet token of the event's JSON instead of the
JSON itself, so the residents' words (ID numbers, phone numbers, names) are not readable
in var/tracker.db. The other columns are Rasa's (sender id, event type, timestamp, intent
and action names) and hold no user text.

The key is ``$RASA_TRACKER_KEY`` (a urlsafe base64 Fernet key; `make run` creates one in
var/tracker_key). Without it, or with a key that does not open the stored events, Rasa
stops at start with a message saying so. Events written before this store existed (plain
JSON) are encrypted in place at start.

Reading a conversation back cost more at every turn, because sessions never expire here
(``session_expiration_time: 0``): Rasa fetched, and we decrypted, the whole history at each
turn and counted it again before saving. So each process keeps, per sender, the decrypted
JSON of the stored events (an LRU bounded by ``CACHED_EVENTS``), and trusts it only while
one indexed query (the sender's row count and largest id) says the database holds exactly
those rows. Several Rasa replicas share one PostgreSQL database and any of them may take a
resident's next turn: rows another replica appended show up as a larger count and id and
are fetched (only those), anything else that disagrees (a deletion, a gap) reloads the
conversation as Rasa would. Which stored rows belong to the last session is computed from
the cached rows with Rasa's own rule (timestamp ≥ the latest ``session_started``), and that
number replaces Rasa's count query at save: the save takes the rows the same way, checked
in its own transaction.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event as sa_event
from sqlalchemy import func as sa_func
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)

KEY_VARIABLE = "RASA_TRACKER_KEY"
_PLAIN_JSON_PREFIX = "{"  # a Fernet token starts with "gAAAA"
# The slot action_forget_me sets once the resident confirmed "删除我的记录".
FORGET_SLOT = "forget_me"
RETENTION_VARIABLE = "RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 180
PURGE_EVERY_S = 3600.0
#: Decrypted events kept in memory, all conversations together (about 1 kB each).
CACHED_EVENTS = 20_000
_SESSION_STARTED = SessionStarted.type_name


class TrackerKeyError(RasaException):
    """The tracker store's key is missing, malformed, or not the one the events were stored with."""


def fernet_from_env(variable: str = KEY_VARIABLE) -> Fernet:
    key = os.environ.get(variable, "").strip()
    if not key:
        raise TrackerKeyError(
            f"{variable} is not set: the tracker store encrypts conversations and needs "
            f"its key (`make run` keeps one in var/tracker_key; a new one: "
            f'python -c "from cryptography.fernet import Fernet; '
            f'print(Fernet.generate_key().decode())")'
        )
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as err:
        raise TrackerKeyError(
            f"{variable} is not a Fernet key (32 bytes, urlsafe base64): {err}"
        ) from err


@dataclass
class _Stored:
    """The rows of one sender as the database held them: oldest first, ``count`` of them,
    the largest id ``last_id``; each row is (type name, timestamp, the event's JSON)."""

    count: int
    last_id: int | None
    rows: list[tuple[str, float | None, str]] = field(default_factory=list)


class _StoredCache:
    """Least recently used senders go first once more than ``capacity`` events are kept."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, _Stored] = OrderedDict()
        self._events = 0

    def get(self, sender_id: str) -> _Stored | None:
        stored = self._entries.get(sender_id)
        if stored is not None:
            self._entries.move_to_end(sender_id)
        return stored

    def put(self, sender_id: str, stored: _Stored) -> None:
        self.drop(sender_id)
        if len(stored.rows) > self.capacity:
            return
        self._entries[sender_id] = stored
        self._events += len(stored.rows)
        while self._events > self.capacity:
            _, oldest = self._entries.popitem(last=False)
            self._events -= len(oldest.rows)

    def drop(self, sender_id: str) -> None:
        stored = self._entries.pop(sender_id, None)
        if stored is not None:
            self._events -= len(stored.rows)

    def __contains__(self, sender_id: str) -> bool:
        return sender_id in self._entries


def _last_session(rows: list[tuple[str, float | None, str]]) -> list[tuple[str, float | None, str]]:
    """Rasa's `SQLTrackerStore._event_query` for the last session, on rows in id order.

    Its SQL: ``timestamp >= (max timestamp of the sender's session_started events)``, or
    every row when there is none (NULL); a NULL timestamp never compares true.
    """
    starts = [ts for name, ts, _ in rows if name == _SESSION_STARTED and ts is not None]
    if not starts:
        return rows
    start = max(starts)
    return [row for row in rows if row[1] is not None and row[1] >= start]


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL with ``synchronous=NORMAL``: a commit no longer waits for an fsync.

    Still durable across a crash of Rasa itself (killed, out of memory): a committed
    transaction is in the WAL file once the commit returns, and the next open replays it.
    Only an OS crash or a power cut can lose the last transactions (never corrupt the file).
    WAL also lets a reader (a test, sqlite3 by hand) read while Rasa writes. After a crash
    the last commits may sit in tracker.db-wal: whoever deletes tracker.db by hand deletes
    tracker.db-wal and tracker.db-shm with it (a clean stop folds the WAL back and removes it).
    """
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose ``events.data`` column is encrypted with Fernet."""

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        key_variable: str = KEY_VARIABLE,
        retention_days: float | None = None,
        cached_events: int = CACHED_EVENTS,
        **kwargs: Any,
    ) -> None:
        # Before any database work: a missing key stops Rasa before it touches the file.
        self._fernet = fernet_from_env(key_variable)
        self._key_variable = key_variable
        days = retention_days
        if days is None:
            days = float(os.environ.get(RETENTION_VARIABLE, DEFAULT_RETENTION_DAYS))
        self._retention_s = days * 86400
        self._last_purge = 0.0
        self._cache = _StoredCache(cached_events)
        super().__init__(domain=domain, event_broker=event_broker, **kwargs)
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (
            None,
            "",
            ":memory:",
        ):
            self._keep_sqlite_connection()
        table = self.SQLEvent.__table__
        by_sender = table.c.sender_id == sa.bindparam("sender")
        self._state_query = sa.select(sa_func.count(table.c.id), sa_func.max(table.c.id)).where(
            by_sender
        )
        row_columns = (table.c.id, table.c.type_name, table.c.timestamp, table.c.data)
        self._rows_query = sa.select(*row_columns).where(by_sender).order_by(table.c.id)
        self._rows_after_query = (
            sa.select(*row_columns)
            .where(by_sender, table.c.id > sa.bindparam("after"))
            .order_by(table.c.id)
        )
        self._insert = table.insert()
        self._check_key_and_encrypt_plain_events()
        self.purge_expired()

    def _keep_sqlite_connection(self) -> None:
        """One pooled SQLite connection with WAL, instead of Rasa's new one per session.

        SQLAlchemy 1.4 gives a SQLite file a `NullPool`: every retrieve and every save
        opened the file and read its schema again. The connection is only ever used by one
        thread at a time (the pool hands it out), hence ``check_same_thread=False``. No
        pre-ping: there is no server to restart under a local file.
        """
        url = self.engine.url
        self.engine.dispose()
        engine = sa.create_engine(
            url, poolclass=QueuePool, connect_args={"check_same_thread": False}
        )
        sa_event.listen(engine, "connect", _sqlite_pragmas)
        self.engine = engine
        self.sessionmaker = sa.orm.sessionmaker(bind=engine)

    def purge_expired(self, now: float | None = None) -> int:
        """Delete conversations silent for longer than the retention period; return how many.

        A conversation goes whole (its newest event is older than the limit), so a
        resident who comes back within the period finds their task where they left it.
        """
        now = time.time() if now is None else now
        self._last_purge = now
        cutoff = now - self._retention_s
        with self.session_scope() as session:
            newest = (
                session.query(self.SQLEvent.sender_id)
                .group_by(self.SQLEvent.sender_id)
                .having(sa_func.max(self.SQLEvent.timestamp) < cutoff)
                .all()
            )
            senders = [row[0] for row in newest]
            for sender_id in senders:
                self._delete(session, sender_id)
            session.commit()
        if senders:
            logger.info("%d conversation(s) past the retention period deleted", len(senders))
        return len(senders)

    def _delete(self, session: Any, sender_id: str) -> None:
        self._cache.drop(sender_id)
        session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id).delete(
            synchronize_session=False
        )

    def _encrypt(self, event: dict[str, Any]) -> str:
        return self._encrypt_text(json.dumps(event))

    def _encrypt_text(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def _decrypt(self, data: str) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self._decrypt_text(data))
        return event

    def _decrypt_text(self, data: str) -> str:
        try:
            plain = self._fernet.decrypt(data.encode("ascii"))
        except InvalidToken as err:
            raise TrackerKeyError(
                f"{self._key_variable} does not open the stored conversations "
                f"({self.engine.url!r}): they were written with another key"
            ) from err
        return plain.decode("utf-8")

    def _check_key_and_encrypt_plain_events(self) -> None:
        """Fail now on a wrong key (not at the first user's turn); encrypt legacy rows."""
        with self.session_scope() as session:
            latest = (
                session.query(self.SQLEvent)
                .filter(~self.SQLEvent.data.startswith(_PLAIN_JSON_PREFIX))
                .order_by(self.SQLEvent.id.desc())
                .first()
            )
            if latest is not None:
                self._decrypt(latest.data)
            plain = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.data.startswith(_PLAIN_JSON_PREFIX))
                .all()
            )
            for row in plain:
                row.data = self._encrypt(json.loads(row.data))
            session.commit()
        if plain:
            logger.info("encrypted %d tracker event(s) stored in plain text", len(plain))

    def _stored(self, session: Any, sender_id: str) -> _Stored | None:
        """The sender's rows, from this process's cache when the database agrees."""
        count, last_id = session.execute(self._state_query, {"sender": sender_id}).one()
        known = self._cache.get(sender_id)
        if count == 0:
            self._cache.drop(sender_id)
            return None
        if known is not None and known.count == count and known.last_id == last_id:
            return known
        if known is not None and known.last_id is not None and count > known.count:
            # Another replica took the last turns: fetch only what it appended.
            newer = session.execute(
                self._rows_after_query, {"sender": sender_id, "after": known.last_id}
            ).all()
            if newer and known.count + len(newer) == count and newer[-1].id == last_id:
                stored = _Stored(count, last_id, known.rows + [self._row(r) for r in newer])
                self._cache.put(sender_id, stored)
                return stored
        # Nothing known, or the rows changed otherwise (deleted, purged): all of them, in
        # one statement, so count and rows come from the same snapshot.
        rows = session.execute(self._rows_query, {"sender": sender_id}).all()
        if not rows:
            self._cache.drop(sender_id)
            return None
        stored = _Stored(len(rows), rows[-1].id, [self._row(r) for r in rows])
        self._cache.put(sender_id, stored)
        return stored

    def _row(self, row: Any) -> tuple[str, float | None, str]:
        return (row.type_name, row.timestamp, self._decrypt_text(row.data))

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        # As SQLTrackerStore._retrieve: the last session's events (or all), decrypted.
        with self.session_scope() as session:
            stored = self._stored(session, sender_id)
        if stored is None:
            return None
        rows = stored.rows if fetch_events_from_all_sessions else _last_session(stored.rows)
        # Parsed again at each retrieve: events keep references to their dicts, and a
        # turn may change them; the cache must not see that.
        events = [json.loads(plain) for _, _, plain in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        # As SQLTrackerStore.save, with the data column encrypted.
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        with self.session_scope() as session:
            # The rows as this transaction sees them (the cache when the check vouches for
            # it); how many are in the last session is what Rasa's count query would say.
            known = self._stored(session, sender_id) or _Stored(0, None)
            count, last_id = known.count, known.last_id
            new_events = list(tracker.events)[len(_last_session(known.rows)) :]
            if _asks_to_be_forgotten(new_events):
                # 删除我的记录, confirmed: nothing of this conversation stays, this turn
                # included; the next message starts a new one.
                self._delete(session, sender_id)
                session.commit()
                logger.info("conversation deleted at the resident's request")
                return
            rows: list[tuple[str, float | None, str]] = []
            values: list[dict[str, Any]] = []
            for event in new_events:
                data = event.as_dict()
                plain = json.dumps(data)
                rows.append((event.type_name, data.get("timestamp"), plain))
                values.append(
                    {
                        "sender_id": sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {})
                        .get("intent", {})
                        .get(INTENT_NAME_KEY),
                        "action_name": data.get("name"),
                        "data": self._encrypt_text(plain),
                    }
                )
            after = (count, last_id)
            if values:
                session.execute(self._insert, values)
                after = session.execute(self._state_query, {"sender": sender_id}).one()
            session.commit()
        if after[0] == count + len(values):
            self._cache.put(sender_id, _Stored(after[0], after[1], known.rows + rows))
        else:
            self._cache.drop(sender_id)
        logger.debug("tracker of %s stored (encrypted)", sender_id)
        if time.time() - self._last_purge > PURGE_EVERY_S:
            self.purge_expired()


def _asks_to_be_forgotten(events: list[Any]) -> bool:
    return any(
        isinstance(event, SlotSet) and event.key == FORGET_SLOT and event.value is True
        for event in events
    )
