"""Schemathesis against the gateway's own OpenAPI document: no 5xx, no schema violations.

The gateway runs for real (uvicorn in a thread, real database, the agent API behind real
tokens); only Rasa is a fake server, so generated messages get answers without a model.
Every documented operation is fuzzed with schema-valid and schema-invalid data, and each
response is checked against what the document promises (status codes, content types,
bodies, headers). A new route that crashes on odd input, or answers in a shape it does
not document, fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from bot.settings import Settings
from channels.app import create_app
from tests.app.handoff_kit import PASSWORD, gateway_with_fake_rasa
from tests.live_server import LiveServer

AGENT = "schema-agent"


class Gateway:
    """The running gateway and a way to get a valid agent token."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.url = server.url

    def fresh_token(self) -> str:
        response = httpx.post(
            f"{self.url}/api/agent/login", json={"username": AGENT, "password": PASSWORD}
        )
        response.raise_for_status()
        token: str = response.json()["token"]
        return token


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway_with_fake_rasa(tmp_path_factory.mktemp("schema"), agents=[AGENT]) as server:
        yield Gateway(server)


@pytest.fixture(scope="module")
def token(gateway: Gateway) -> str:
    return gateway.fresh_token()


# 413 (body larger than GATEWAY_MAX_BODY_BYTES) is a documented, deliberate answer to any
# body, valid or not: a generated body of 2000 four-byte characters can exceed the cap.
_CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "413"]
            },
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "403", "404", "405", "409", "413", "422"]
            },
        }
    }
)
# The document the running gateway serves at /openapi.json (checked below) is built from
# the routes alone, so it can be loaded at import time, before any server runs.
_DOCUMENT = create_app(Settings(rasa_token_file=Path("/nonexistent"))).openapi()
schema = schemathesis.openapi.from_dict(_DOCUMENT, config=_CONFIG)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@pytest.mark.timeout(600)
def test_every_operation_matches_its_documentation(
    case: schemathesis.Case, gateway: Gateway, token: str
) -> None:
    # Logging out revokes the token it is called with: give it one of its own.
    bearer = gateway.fresh_token() if case.path.endswith("/logout") else token
    case.call_and_validate(base_url=gateway.url, headers={"Authorization": f"Bearer {bearer}"})


def test_the_served_document_is_the_fuzzed_one(gateway: Gateway) -> None:
    document = httpx.get(f"{gateway.url}/openapi.json").json()
    assert document == _DOCUMENT
    paths = document["paths"]
    assert "/webhooks/rest/webhook" in paths
    assert "/api/conversations/{sender_id}/messages" in paths
    assert "/api/agent/login" in paths
    assert "/health" in paths
