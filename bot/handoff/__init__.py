"""Handing a conversation to people: the queue, the waiting room, the agent desk."""
