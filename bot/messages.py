"""Typed messages that cross module borders (channel -> hub -> engine and back).

`BotReply` mirrors one element of the list Rasa's REST channel returns
(``{"recipient_id", "text", "buttons": [{"title", "payload"}], "custom", "image",
"attachment"}``, only the keys that are present), so the REST channel can pass replies
through unchanged while other channels (kiosk, Telegram) render the same typed object.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class UserMessage(BaseModel):
    """One thing a user said or typed, already validated by the channel it came from."""

    model_config = ConfigDict(frozen=True)

    sender_id: str
    text: str
    channel: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class Button(BaseModel):
    """A quick reply; ``payload`` is what the channel sends back when it is chosen."""

    model_config = ConfigDict(frozen=True)

    title: str
    payload: str | None = None


class BotReply(BaseModel):
    """One bubble of the assistant's answer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    recipient_id: str
    text: str | None = None
    buttons: list[Button] | None = None
    custom: dict[str, Any] | None = None
    image: str | None = None
    # Not used by our domain today, but Rasa's REST channel can emit it and a gateway
    # that claims the same shape must not silently drop it.
    attachment: Any | None = None

    def to_rest(self) -> dict[str, Any]:
        """The Rasa REST channel shape: absent keys are left out rather than sent as null."""
        return self.model_dump(exclude_none=True)
