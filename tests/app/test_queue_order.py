"""Queue order: urgent > high > normal, first come first served within a priority."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.handoff.queue import HandoffRequest, effective_priority
from bot.messages import BotReply
from bot.views import Profile

from .conftest import Gateways
from .handoff_kit import AgentApi, add_agent, say, user_messages, wait_for


def test_priority_then_first_come_first_served(gateway: TestClient, gateways: Gateways) -> None:
    add_agent(gateways.database_url, "zhao")
    say(gateway, "normal-1", "转人工")
    say(gateway, "normal-2", "转人工")
    say(gateway, "complaint", "我要投诉")  # high, from the bot
    say(gateway, "elder", "转人工", metadata={"elder_mode": True})  # normal, raised to high
    say(gateway, "emergency", "救命")  # urgent
    say(gateway, "normal-3", "转人工")
    say(gateway, "blind", "转人工", metadata={"screen_reader": True})  # high

    items = AgentApi(gateway, "zhao").queue()["items"]

    order = [(item["priority"], item["reason"]) for item in items]
    assert order == [
        ("urgent", "emergency"),
        ("high", "complaint"),
        ("high", "user_request"),  # elder
        ("high", "user_request"),  # blind
        ("normal", "user_request"),
        ("normal", "user_request"),
        ("normal", "user_request"),
    ]
    assert [item["position"] for item in items] == list(range(1, 8))
    profiles = [item["profile"] for item in items]
    assert profiles[2]["elder_mode"] and profiles[3]["screen_reader"]
    ids = [item["conversation_id"] for item in items]
    # FIFO inside "normal": the conversations were created in the order they asked.
    assert ids[4:] == sorted(ids[4:])


def test_the_bot_reply_reports_the_place_in_line(gateway: TestClient) -> None:
    say(gateway, "first", "转人工")
    second = say(gateway, "second", "转人工")
    urgent = say(gateway, "third", "救命")

    assert second[-1]["text"].startswith("您排在第2位，大约等8分钟。")
    assert urgent[-1]["text"].startswith("您排在第1位")


def test_waiting_users_hear_when_their_position_changes(
    gateway: TestClient, gateways: Gateways
) -> None:
    add_agent(gateways.database_url, "zhao")
    say(gateway, "a", "转人工")
    say(gateway, "b", "转人工")
    say(gateway, "c", "转人工")
    agent = AgentApi(gateway, "zhao")
    first = agent.waiting_ids()[0]

    agent.ok("post", f"/conversations/{first}/claim")

    def news(sender: str) -> list[str]:
        messages = user_messages(gateway, sender)["messages"]
        return [m["text"] for m in messages if m["role"] == "bot" and "text" in m]

    assert wait_for(lambda: "下一位就是您，工作人员马上来。" in news("b"), what="b's news")
    assert wait_for(lambda: any(t.startswith("您现在排在第2位") for t in news("c")), what="c")
    # Told once per change, not on every push.
    agent.ok("post", f"/conversations/{first}/messages", {"text": "您好"})
    agent.queue()
    assert sum(t.startswith("您现在排在第2位") for t in news("c")) == 1


@pytest.mark.parametrize(
    ("reason", "priority", "profile", "expected"),
    [
        ("user_request", "normal", Profile(), "normal"),
        ("user_request", "normal", Profile(elder_mode=True), "high"),
        ("user_request", "normal", Profile(screen_reader=True), "high"),
        ("user_request", "normal", Profile(kiosk=True, telegram=True), "normal"),
        ("emergency", "normal", Profile(), "urgent"),
        ("emergency", "urgent", Profile(elder_mode=True), "urgent"),
        ("complaint", "normal", Profile(), "high"),
        ("verification_failed", "high", Profile(), "high"),
        ("registry_unavailable", "normal", Profile(), "normal"),
    ],
)
def test_effective_priority(reason: str, priority: str, profile: Profile, expected: str) -> None:
    request = HandoffRequest.from_payload({"reason": reason, "priority": priority})
    assert request is not None
    assert effective_priority(request, profile) == expected


def test_handoff_payloads_are_read_leniently() -> None:
    def read(custom: object) -> HandoffRequest | None:
        return HandoffRequest.from_replies(
            [
                BotReply(recipient_id="u", text="x"),
                BotReply(recipient_id="u", custom={"handoff": custom}),
            ]
        )

    assert read({"reason": "complaint", "priority": "high"}) == HandoffRequest("complaint", "high")
    assert read({"reason": "x", "priority": "asap"}) == HandoffRequest("x", "normal")
    assert read({}) == HandoffRequest("unspecified", "normal")
    assert read(True) == HandoffRequest("unspecified", "normal")
    assert read(None) is None
    assert HandoffRequest.from_replies([BotReply(recipient_id="u", text="hi")]) is None
    both = HandoffRequest.from_replies(
        [
            BotReply(recipient_id="u", custom={"handoff": {"reason": "a", "priority": "normal"}}),
            BotReply(recipient_id="u", custom={"handoff": {"reason": "b", "priority": "urgent"}}),
        ]
    )
    assert both == HandoffRequest("b", "urgent"), "the most pressing one wins"
