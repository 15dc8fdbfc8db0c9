"""Conversation core: settings, the hub every channel talks to, and the Rasa client."""
