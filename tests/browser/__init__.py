"""Browser tests of the agent console (Playwright + Debian's Chromium), run in the app venv."""
