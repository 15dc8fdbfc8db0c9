"""engine_ext.action_validation: Rasa's check of action-server responses, schema compiled once.

The check must accept and reject exactly what Rasa's own ``jsonschema.validate`` does,
with the same message, and be cheaper per call (the reason it exists).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from engine_ext import action_validation

#: What the action server answers for a form step: two events and a question.
FORM_STEP: dict[str, Any] = {
    "events": [
        {"event": "slot", "name": "requested_slot", "value": "district", "timestamp": None},
        {"event": "active_loop", "name": "service_center_form"},
    ],
    "responses": [{"text": "请问您在哪个区？", "buttons": [], "custom": {"expect": "choice"}}],
}
BROKEN: list[dict[str, Any]] = [
    {"events": [{"event": "slot", "value": "x"}]},  # a slot event without its name
    {"events": "slot"},
    {"events": [], "responses": ["请问您在哪个区？"]},
]


@pytest.fixture
def rasa_original() -> Iterator[Any]:
    """Rasa's own method, put back after the test whatever the test installed."""
    original = RemoteAction._validate_action_result
    yield original
    RemoteAction._validate_action_result = original  # type: ignore[method-assign]


def test_install_replaces_rasa_method_once(rasa_original: Any) -> None:
    action_validation.install()
    action_validation.install()
    assert RemoteAction._validate_action_result is action_validation.validate_action_result
    assert RemoteAction("validate_service_center_form", None)._validate_action_result(FORM_STEP)


@pytest.mark.parametrize("result", BROKEN)
def test_rejects_what_rasa_rejects_with_the_same_message(
    rasa_original: Any, result: dict[str, Any]
) -> None:
    action = RemoteAction("validate_service_center_form", None)
    with pytest.raises(ValidationError) as theirs:
        rasa_original(action, result)
    with pytest.raises(ValidationError) as ours:
        action_validation.validate_action_result(action, result)
    assert ours.value.message == theirs.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_refuses_a_rasa_it_does_not_know(
    rasa_original: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def other_rasa(self: RemoteAction, result: dict[str, Any]) -> bool:
        return True

    monkeypatch.setattr(RemoteAction, "_validate_action_result", other_rasa)
    with pytest.raises(RuntimeError, match=r"not Rasa 3\.6's"):
        action_validation.install()


def test_compiled_check_is_cheaper_than_rasa_per_call(rasa_original: Any) -> None:
    action = RemoteAction("validate_service_center_form", None)
    action_validation.validate_action_result(action, FORM_STEP)  # compile outside the clock

    def per_call(check: Any, calls: int = 10) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            check(action, FORM_STEP)
        return (time.perf_counter() - started) / calls

    assert per_call(action_validation.validate_action_result) * 5 < per_call(rasa_original)
