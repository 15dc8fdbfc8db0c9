"""The whole handoff loop against the fake Rasa: user -> queue -> agent -> user -> bot.

Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from bot.feedback import texts as feedback_texts
from bot.handoff import texts as handoff_texts

from .conftest import Gateways
from .fake_rasa import HANDOFF, HANDOFF_TEXT, FakeRasaState
from .handoff_kit import AgentApi, add_agent, audit_rows, say, texts, user_messages


def test_user_to_agent_and_back_to_the_bot(gateways: Gateways, fake_rasa: FakeRasaState) -> None:
    client = gateways.start()
    add_agent(gateways.database_url, "wangfang")

    # The user asks for a human: the bot's replies pass through, plus their place in line.
    replies = say(client, "kiosk-7", "转人工")
    assert replies[0]["text"] == HANDOFF_TEXT
    assert replies[1] == {"recipient_id": "kiosk-7", "custom": HANDOFF}
    assert replies[2]["text"].startswith("您排在第1位，大约等4分钟。")
    assert replies[2]["buttons"] == [{"title": "取消排队", "payload": "取消"}]
    assert len(fake_rasa.webhook_calls) == 1

    agent = AgentApi(client, "wangfang")
    queue = agent.queue()
    assert [item["position"] for item in queue["items"]] == [1]
    item = queue["items"][0]
    assert item["reason"] == "user_request"
    assert item["priority"] == "normal"
    assert item["channel"] == "rest"
    assert item["waiting_s"] >= 0
    assert queue["claimed"] == []
    conversation_id = item["conversation_id"]

    # While waiting, what the user says is kept for the agent and NOT sent to Rasa.
    waiting = say(client, "kiosk-7", "我的养老金这个月没到账")
    assert texts(waiting) == ["您说的话工作人员都能看到。您排在第1位。"]
    assert len(fake_rasa.webhook_calls) == 1

    claimed = agent.ok("post", f"/conversations/{conversation_id}/claim")
    assert claimed["handoff"]["status"] == "claimed"
    assert claimed["handoff"]["claimed_by"] == "wangfang"
    said = [m["text"] for m in claimed["messages"] if m["role"] == "user"]
    assert said == ["转人工", "我的养老金这个月没到账"], "the agent sees everything said"
    assert agent.queue()["items"] == []
    assert [c["conversation_id"] for c in agent.queue()["claimed"]] == [conversation_id]

    # With an agent: user messages are forwarded, the webhook answers nothing itself.
    assert say(client, "kiosk-7", "喂，在吗") == []
    assert len(fake_rasa.webhook_calls) == 1
    agent.ok("post", f"/conversations/{conversation_id}/messages", {"text": "在的，我帮您查。"})

    page = user_messages(client, "kiosk-7")
    roles_and_texts = [(m["role"], m.get("text")) for m in page["messages"]]
    assert ("bot", handoff_texts.AGENT_JOINED) in roles_and_texts
    assert roles_and_texts[-1] == ("agent", "在的，我帮您查。")
    assert page["cursor"] == page["messages"][-1]["id"]
    assert user_messages(client, "kiosk-7", after=page["cursor"]) == {
        "messages": [],
        "cursor": page["cursor"],
    }

    handed = agent.ok("post", f"/conversations/{conversation_id}/handback")
    assert handed["status"] == "handed_back"
    after_handback = user_messages(client, "kiosk-7", after=page["cursor"])["messages"]
    assert [m["text"] for m in after_handback] == [handoff_texts.HANDED_BACK]

    # Back with the bot: the next message goes to Rasa again.
    assert texts(say(client, "kiosk-7", "你好")) == ["您说的是：你好", "请选择服务："]
    assert [call["message"] for call in fake_rasa.webhook_calls] == ["转人工", "你好"]

    actions = [row.action for row in audit_rows(gateways.database_url, conversation_id)]
    assert actions == ["claim", "handback"]


def test_close_also_returns_the_user_to_the_bot(
    gateway: TestClient, gateways: Gateways, fake_rasa: FakeRasaState
) -> None:
    add_agent(gateways.database_url, "lina")
    say(gateway, "u-close", "转人工")
    agent = AgentApi(gateway, "lina")
    (conversation_id,) = agent.waiting_ids()
    agent.ok("post", f"/conversations/{conversation_id}/claim")

    closed = agent.ok("post", f"/conversations/{conversation_id}/close")

    assert closed["status"] == "closed"
    assert closed["ended_at"] is not None
    closing, rating = user_messages(gateway, "u-close")["messages"][-2:]
    assert closing["text"] == handoff_texts.CLOSED
    assert rating["text"] == feedback_texts.ASK_RATING  # asked once; 你好 goes to the bot
    say(gateway, "u-close", "你好")
    assert fake_rasa.webhook_calls[-1]["message"] == "你好"
    assert [r.action for r in audit_rows(gateways.database_url, conversation_id)] == [
        "claim",
        "close",
    ]
    # Closed means done: nothing left to claim, and the closer cannot act on it again.
    assert agent.post(f"/conversations/{conversation_id}/claim").status_code == 404
    assert agent.post(f"/conversations/{conversation_id}/close").status_code == 409


def test_asking_again_after_hand_back_queues_again(gateway: TestClient, gateways: Gateways) -> None:
    add_agent(gateways.database_url, "lina")
    say(gateway, "u-again", "转人工")
    agent = AgentApi(gateway, "lina")
    (conversation_id,) = agent.waiting_ids()
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    agent.ok("post", f"/conversations/{conversation_id}/handback")

    again = say(gateway, "u-again", "转人工")

    assert again[-1]["text"].startswith("您排在第1位")
    assert agent.waiting_ids() == [conversation_id]
