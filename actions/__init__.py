"""Custom actions for the Rasa action server: accessibility commands, tasks, handoffs.

Run with ``rasa run actions`` (engine env). Each module holds one family of actions
next to the validation of its form; outside services sit behind small typed clients.
"""
