"""Unit and component tests of the gateway (bot/ and channels/), run in the app venv."""
