"""Typed events published after commit, and the feeds that follow them."""
