"""What an agent sees and may do with a conversation: masked transcript, audited reveal,
notes staff-only, canned replies, recogniser confidence and accessibility flags."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import Gateways
from .handoff_kit import AgentApi, add_agent, audit_rows, say, user_messages

ID_NUMBER = "110105194910010031"
PHONE = "13812345678"
SPOKEN_ID = "幺幺零幺零五 一九四九一零零一 零零三幺"


def queued_conversation(client: TestClient, agent: AgentApi, sender: str) -> int:
    """Queue `sender` and return its conversation id (the last in line)."""
    say(client, sender, "转人工")
    items = agent.queue()["items"]
    conversation_id: int = items[-1]["conversation_id"]
    return conversation_id


def test_transcript_is_masked_and_reveal_is_audited(
    gateway: TestClient, gateways: Gateways
) -> None:
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(gateway, "wang")
    say(gateway, "u-pii", f"我的身份证是{ID_NUMBER}")
    say(gateway, "u-pii", f"电话{PHONE}，号码是{SPOKEN_ID}")
    conversation_id = queued_conversation(gateway, agent, "u-pii")

    view = agent.ok("get", f"/conversations/{conversation_id}")
    everything = str(view)
    assert view["masked"] is True
    assert ID_NUMBER not in everything and PHONE not in everything
    assert "110105********0031" in everything
    assert "138****5678" in everything
    assert "幺幺零幺零五" not in everything, "spoken numbers are masked too"
    roles = [m["role"] for m in view["messages"]]
    assert roles[:2] == ["user", "bot"] and "agent" not in roles

    # Reveal is for the agent handling the conversation only.
    refused = agent.post(f"/conversations/{conversation_id}/reveal")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "not_claimed_by_you"
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    revealed = agent.ok("post", f"/conversations/{conversation_id}/reveal")

    assert revealed["masked"] is False
    assert f"我的身份证是{ID_NUMBER}" in [m["text"] for m in revealed["messages"]]
    assert revealed["sender_id"] == "u-pii"
    actions = [(r.action, r.conversation_id) for r in audit_rows(gateways.database_url)]
    assert ("reveal", conversation_id) in actions
    assert actions.count(("reveal", conversation_id)) == 1, "the refused reveal is not logged"
    # Pushing the same masked view again does not reveal anything.
    assert ID_NUMBER not in str(agent.ok("get", f"/conversations/{conversation_id}"))


def test_low_confidence_and_profile_flags_come_from_metadata(
    gateway: TestClient, gateways: Gateways
) -> None:
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(gateway, "wang")
    kiosk = {"kiosk": {"id": "K-07"}, "asr_confidence": 0.42, "elder_mode": True}
    say(gateway, "kiosk-07:s1", "我想办认证", metadata=kiosk)
    say(gateway, "kiosk-07:s1", "转人工", metadata={"asr_confidence": 0.93, "screen_reader": True})
    say(gateway, "kiosk-07:s1", "嗯", metadata={"asr_confidence": "high"})  # ignored, not a number
    (conversation_id,) = agent.waiting_ids()

    view = agent.ok("get", f"/conversations/{conversation_id}")

    users = [m for m in view["messages"] if m["role"] == "user"]
    assert [(m["asr_confidence"], m["low_confidence"]) for m in users] == [
        (0.42, True),
        (0.93, False),
        (None, False),
    ]
    assert view["profile"] == {
        "kiosk": True,
        "screen_reader": True,
        "telegram": False,
        "elder_mode": True,
    }
    assert view["channel"] == "rest"
    assert agent.queue()["items"][0]["priority"] == "high"


def test_notes_are_for_staff_only(gateway: TestClient, gateways: Gateways) -> None:
    add_agent(gateways.database_url, "wang")
    add_agent(gateways.database_url, "li")
    wang, li = AgentApi(gateway, "wang"), AgentApi(gateway, "li")
    conversation_id = queued_conversation(gateway, wang, "u-notes")

    note = wang.ok(
        "post", f"/conversations/{conversation_id}/notes", {"text": f"老人耳背，已打{PHONE}"}
    )
    li.ok("post", f"/conversations/{conversation_id}/notes", {"text": "明天再联系"})

    assert note["agent"] == "wang" and note["text"] == "老人耳背，已打138****5678"
    notes = wang.ok("get", f"/conversations/{conversation_id}")["notes"]
    assert [(n["agent"], n["text"]) for n in notes] == [
        ("wang", "老人耳背，已打138****5678"),
        ("li", "明天再联系"),
    ]
    seen_by_user = str(user_messages(gateway, "u-notes"))
    assert "耳背" not in seen_by_user and "明天再联系" not in seen_by_user
    assert wang.post("/conversations/999999/notes", {"text": "x"}).status_code == 404
    assert wang.post(f"/conversations/{conversation_id}/notes", {"text": "  "}).status_code == 422


def test_only_the_claiming_agent_may_write_hand_back_or_close(
    gateway: TestClient, gateways: Gateways
) -> None:
    add_agent(gateways.database_url, "wang")
    add_agent(gateways.database_url, "li")
    wang, li = AgentApi(gateway, "wang"), AgentApi(gateway, "li")
    conversation_id = queued_conversation(gateway, wang, "u-perm")

    assert (
        wang.post(f"/conversations/{conversation_id}/messages", {"text": "hi"}).status_code == 409
    )
    wang.ok("post", f"/conversations/{conversation_id}/claim")
    taken = li.post(f"/conversations/{conversation_id}/claim")
    assert taken.status_code == 409
    assert taken.json()["error"] == {"code": "already_claimed", "message": "这个对话已经有人接了。"}
    for action in ("messages", "handback", "close", "reveal"):
        response = li.post(f"/conversations/{conversation_id}/{action}", {"text": "hi"})
        assert response.status_code == 409, action
    # Reading (masked) is open to every agent, e.g. to help a colleague.
    assert li.get(f"/conversations/{conversation_id}").status_code == 200
    assert li.queue()["claimed"] == []


def test_unknown_and_bot_only_conversations_are_404(
    gateway: TestClient, gateways: Gateways
) -> None:
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(gateway, "wang")
    say(gateway, "only-bot", "你好")
    for path in ("/conversations/424242", "/conversations/1"):
        response = agent.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "conversation_not_found"
    assert agent.post("/conversations/424242/claim").status_code == 404
    nothing = agent.post("/conversations/1/claim")
    assert nothing.status_code == 404
    assert nothing.json()["error"]["code"] == "nothing_to_claim"
    assert agent.get("/conversations/0").status_code == 422
    assert agent.get("/conversations/abc").status_code == 422


def test_canned_replies_are_seeded_and_editable(gateway: TestClient, gateways: Gateways) -> None:
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(gateway, "wang")

    seeded = agent.ok("get", "/canned-replies")["replies"]
    assert len(seeded) >= 4
    assert all(isinstance(r, str) and r for r in seeded)
    assert any("身份证" in r for r in seeded)

    new = ["您好，请讲。", "  请稍等。  ", "已经帮您办好了。"]
    assert agent.ok("put", "/canned-replies", {"replies": new}) == {
        "replies": ["您好，请讲。", "请稍等。", "已经帮您办好了。"]
    }
    assert agent.ok("get", "/canned-replies")["replies"] == [
        "您好，请讲。",
        "请稍等。",
        "已经帮您办好了。",
    ]
    assert agent.put("/canned-replies", {"replies": ["ok", ""]}).status_code == 422
    assert agent.put("/canned-replies", {"replies": ["x" * 501]}).status_code == 422
    assert agent.put("/canned-replies", {"replies": "not a list"}).status_code == 422
    assert agent.ok("put", "/canned-replies", {"replies": []}) == {"replies": []}
    assert "canned_replies" in [r.action for r in audit_rows(gateways.database_url)]


def test_agent_reply_validation(gateway: TestClient, gateways: Gateways) -> None:
    add_agent(gateways.database_url, "wang")
    agent = AgentApi(gateway, "wang")
    conversation_id = queued_conversation(gateway, agent, "u-val")
    agent.ok("post", f"/conversations/{conversation_id}/claim")
    url = f"/conversations/{conversation_id}/messages"

    assert agent.post(url, {"text": ""}).status_code == 422
    assert agent.post(url, {"text": "好" * 2001}).status_code == 422
    assert agent.post(url, {"txt": "hi"}).status_code == 422
    sent = agent.ok("post", url, {"text": f" 您的号码{PHONE}对吗？ "})
    assert sent["role"] == "agent" and sent["agent"] == "wang"
    assert sent["text"] == "您的号码138****5678对吗？", "the console shows the masked form"
    mine = user_messages(gateway, "u-val")["messages"][-1]
    assert mine["text"] == f"您的号码{PHONE}对吗？", "the user gets their own number in full"
