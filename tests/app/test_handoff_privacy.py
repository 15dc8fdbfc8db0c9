"""No personal number reaches a log anywhere in the handoff path, even at DEBUG."""

from __future__ import annotations

import logging

import pytest

from .conftest import Gateways
from .handoff_kit import AgentApi, add_agent, say, wait_for

ID_NUMBER = "110105194910010031"
PHONE = "13912345678"


def test_handoff_with_personal_numbers_logs_them_masked_only(
    gateways: Gateways, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # before the app starts, so its engine logs too
    client = gateways.start(callback_offer_after_s=0.1, handoff_tick_s=0.05)
    add_agent(gateways.database_url, "wang")
    say(client, "u-log", f"身份证{ID_NUMBER}")
    say(client, "u-log", "转人工")
    wait_for(
        lambda: "回电话" in str(client.get("/api/conversations/u-log/messages").json()),
        what="call-back offer",
    )
    say(client, "u-log", PHONE)
    agent = AgentApi(client, "wang")
    (conversation_id,) = agent.waiting_ids()
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    agent.ok("post", f"/conversations/{conversation_id}/messages", {"text": f"是{PHONE}吗"})
    agent.ok("post", f"/conversations/{conversation_id}/notes", {"text": f"证件{ID_NUMBER}"})
    agent.ok("post", f"/conversations/{conversation_id}/reveal")

    assert "139****5678" in caplog.text, "the DEBUG turn log ran"
    for record in caplog.records:
        message = record.getMessage()
        assert PHONE not in message, record.name
        assert ID_NUMBER not in message, record.name
        assert agent.token not in message, record.name
