"""Settings of the action server, read once from the environment when it starts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class ActionSettings:
    """Where the action server keeps and finds its data."""

    registry_db: Path
    residents_seed: Path
    services_file: Path
    centers_file: Path

    @classmethod
    def from_env(cls) -> ActionSettings:
        var_dir = Path(os.environ.get("VAR_DIR", REPO_ROOT / "var"))
        return cls(
            registry_db=Path(os.environ.get("REGISTRY_DB", var_dir / "registry.sqlite3")),
            residents_seed=DATA_DIR / "residents.csv",
            services_file=DATA_DIR / "services.yml",
            centers_file=DATA_DIR / "service_centers.yml",
        )
