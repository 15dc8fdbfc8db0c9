"""Rasa's check of each action-server response, with its JSON schema compiled once.

Rasa 3.6 validates every response of the action server (``RemoteAction
._validate_action_result``) with ``jsonschema.validate(result, schema)``, and that call
first checks the schema itself against the JSON Schema meta-schema, builds a new
validator and resolves its references — on every call. The schema is Rasa's large
``EVENTS_SCHEMA``, so with jsonschema 4.17 that costs about 19 ms of a single core per
action-server call, and a turn makes two or three of them (a form step: the form's
validation, the question): a third of Rasa's CPU in a profile of issue 11's five
messages. Here the schema is checked and compiled once, the first time it is needed, and
each response is validated exactly as before (all errors, the best match raised, with
Rasa's own message appended), in about 0.6 ms.

``install()`` replaces the method on Rasa's class, so it must run in the Rasa process
before it serves (``scripts.rasa_server`` calls it). It refuses to install over a Rasa
whose method or schema it does not recognise, so an upgrade of Rasa fails loudly here
instead of silently skipping or changing the check.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

logger = logging.getLogger(__name__)

#: What Rasa 3.6's own method calls; a different body means a different Rasa.
_EXPECTED_CALL = "validate(result, self.action_response_format_spec())"


@functools.lru_cache(maxsize=1)
def response_validator() -> Validator:
    """The validator of Rasa's action-response schema, its schema checked once."""
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator: Validator = cls(schema)
    return validator


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """As ``RemoteAction._validate_action_result``: True, or the best-matching error raised."""
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Put the compiled check in place of Rasa's; idempotent."""
    current = RemoteAction._validate_action_result
    if current is validate_action_result:
        return
    if _EXPECTED_CALL not in inspect.getsource(current):
        raise RuntimeError(
            "RemoteAction._validate_action_result is not Rasa 3.6's: "
            "review engine_ext/action_validation.py before running this Rasa"
        )
    response_validator()  # a schema jsonschema rejects stops Rasa now, not at a turn
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    logger.debug("action-server responses validated with a compiled schema")
