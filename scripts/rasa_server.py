"""``rasa run`` with the HTTP API token taken from the environment, not the command line.

Rasa 3.6 reads its API token only from ``--auth-token`` (its JWT secret only from
``--jwt-secret``, also a command-line argument), and a process's command line is
readable by every local user (``ps``, ``/proc/<pid>/cmdline``), while its environment
is readable only by the same user. So `scripts.stack` starts Rasa as
``.venv-rasa/bin/python -m scripts.rasa_server <rasa run arguments>``: this module reads
``$RASA_TOKEN`` and hands it to Rasa's own command-line parser in memory, where no other
process can see it. It also compiles Rasa's check of the action server's responses once
(engine_ext.action_validation), finds an event's class from a table instead of walking
Rasa's class tree for every event read back (engine_ext.event_types), and has the SQL
tracker store test each pooled connection before use (`pre_ping_tracker_store`). Runs in
the engine environment; everything else is Rasa's ``rasa run``.
"""

from __future__ import annotations

import os
import sys

TOKEN_VARIABLE = "RASA_TOKEN"


def pre_ping_tracker_store() -> None:
    """SQLAlchemy's ``pool_pre_ping`` for Rasa's SQL tracker store (and engine_ext's).

    Rasa 3.6 creates its engine without it, so after a PostgreSQL restart the first turn of
    each Rasa process got a dead pooled connection, and Rasa's fail-safe store answered
    that turn from an empty in-memory tracker: the resident's task and slots forgotten
    without an error (tests/app/test_cluster_faults.py). With the ping a dead connection
    is replaced before use. Costs one round trip per checkout (~0.1 ms on loopback).
    """
    import rasa.core.tracker_store as tracker_store

    original = tracker_store.create_engine_kwargs

    def with_pre_ping(url: object) -> dict[str, object]:
        return {**original(url), "pool_pre_ping": True}

    tracker_store.create_engine_kwargs = with_pre_ping


def main(arguments: list[str]) -> None:
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        sys.exit(f"{TOKEN_VARIABLE} is not set: the Rasa HTTP API needs a token")
    if any(arg.startswith(("--auth-token", "--jwt-secret")) for arg in arguments):
        sys.exit("pass the token in $RASA_TOKEN, not on the command line (`ps` shows it)")
    from rasa.__main__ import main as rasa_main

    from engine_ext.action_validation import install as compile_response_schema
    from engine_ext.event_types import install as memoize_event_types

    compile_response_schema()  # ~19 ms less per action-server call (issue 11)
    memoize_event_types()  # ~0.14 ms less per event of every tracker read back
    pre_ping_tracker_store()

    # Only this process's copy of argv changes; /proc/<pid>/cmdline keeps what was exec'd.
    # One argument: a token that starts with "-" (token_urlsafe makes some) is no option.
    sys.argv = ["rasa", "run", *arguments, f"--auth-token={token}"]
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
