"""Shared pytest setup for the Rasa engine tests.

The engine packages (``nlu/``, ...) live at the repository root and are not
installed, so the root is put on ``sys.path`` here; this keeps the tests
runnable with a plain ``python -m pytest tests/engine`` from any directory.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
