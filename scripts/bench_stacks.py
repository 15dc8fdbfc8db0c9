"""What the benchmarks and the real-stack tests share to start a stack of their own: free
loopback ports, and the ``scripts/stack.py`` of another tree (a baseline worktree).

Standard library only: bench_turn runs in the app env and bench_tasks in the engine env
(Python 3.10), and both import this module.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port the OS just handed out, so parallel runs and stale processes don't collide."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def stack_module(root: Path) -> ModuleType:
    """``scripts/stack.py`` of ``root``: a baseline tree starts its processes its own way,
    which may differ from this tree's ``scripts.stack``."""
    name = f"_bench_stack_{abs(hash(root))}"
    spec = importlib.util.spec_from_file_location(name, root / "scripts" / "stack.py")
    if spec is None or spec.loader is None:
        raise RuntimeError(f"no scripts/stack.py under {root}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
