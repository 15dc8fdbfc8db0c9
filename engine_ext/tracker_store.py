"""Rasa's SQL tracker store with every event encrypted at rest (Fernet, key from the env).

endpoints.yml names it (``type: engine_ext.tracker_store.EncryptedSQLTrackerStore``) with
the same keys as Rasa's ``type: SQL``. Rasa's own `SQLTrackerStore` still does all the SQL
work (engine, schema, sessions, which events are new, which belong to the last session);
only the ``data`` column changes: it holds a Fernet token of the event's JSON instead of the
JSON itself, so the residents' words (ID numbers, phone numbers, names) are not readable
in var/tracker.db. The other columns are Rasa's (sender id, event type, timestamp, intent
and action names) and hold no user text.

The key is ``$RASA_TRACKER_KEY`` (a urlsafe base64 Fernet key; `make run` creates one in
var/tracker_key). Without it, or with a key that does not open the stored events, Rasa
stops at start with a message saying so. Events written before this store existed (plain
JSON) are encrypted in place at start.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import func as sa_func

logger = logging.getLogger(__name__)

KEY_VARIABLE = "RASA_TRACKER_KEY"
_PLAIN_JSON_PREFIX = "{"  # a Fernet token starts with "gAAAA"
# The slot action_forget_me sets once the resident confirmed "删除我的记录".
FORGET_SLOT = "forget_me"
RETENTION_VARIABLE = "RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 180
PURGE_EVERY_S = 3600.0


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


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose ``events.data`` column is encrypted with Fernet."""

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        key_variable: str = KEY_VARIABLE,
        retention_days: float | None = None,
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
        super().__init__(domain=domain, event_broker=event_broker, **kwargs)
        self._check_key_and_encrypt_plain_events()
        self.purge_expired()

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
        session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id).delete(
            synchronize_session=False
        )

    def _encrypt(self, event: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(event).encode("utf-8")).decode("ascii")

    def _decrypt(self, data: str) -> dict[str, Any]:
        try:
            plain = self._fernet.decrypt(data.encode("ascii"))
        except InvalidToken as err:
            raise TrackerKeyError(
                f"{self._key_variable} does not open the stored conversations "
                f"({self.engine.url!r}): they were written with another key"
            ) from err
        event: dict[str, Any] = json.loads(plain)
        return event

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

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        # As SQLTrackerStore._retrieve, with the data column decrypted.
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [self._decrypt(row.data) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        # As SQLTrackerStore.save, with the data column encrypted.
        await self.stream_events(tracker)
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
            if _asks_to_be_forgotten(new_events):
                # 删除我的记录, confirmed: nothing of this conversation stays, this turn
                # included; the next message starts a new one.
                self._delete(session, tracker.sender_id)
                session.commit()
                logger.info("conversation deleted at the resident's request")
                return
            for event in new_events:
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {})
                        .get("intent", {})
                        .get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=self._encrypt(data),
                    )
                )
            session.commit()
        logger.debug("tracker of %s stored (encrypted)", tracker.sender_id)
        if time.time() - self._last_purge > PURGE_EVERY_S:
            self.purge_expired()


def _asks_to_be_forgotten(events: list[Any]) -> bool:
    return any(
        isinstance(event, SlotSet) and event.key == FORGET_SLOT and event.value is True
        for event in events
    )
