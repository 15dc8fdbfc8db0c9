"""Settings of the action server, read once from the environment when it starts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from actions.cycle import CycleSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_VAR_DIR = REPO_ROOT / "var"
# The demo registry's regions: Chengdu's districts count calendar years, the others rolling
# 12 months from the last authentication ($AUTH_CYCLE_DISTRICTS replaces this list).
DEMO_CALENDAR_YEAR_DISTRICTS = "锦江区=calendar_year,青羊区=calendar_year,武侯区=calendar_year"


@dataclass(frozen=True)
class RegistryHttpSettings:
    """Timeouts, retries and circuit breaker of the HTTP registry client.

    An elderly resident is standing at the kiosk while we wait, so each registry call
    (a look-up, or recording a certification) gives up after ``deadline_s`` whatever the
    retries: a whole authentication (look-up + record) then takes at most about 7 s even
    when the registry is failing, and about nothing once the breaker is open.
    """

    request_timeout_s: float = 1.5  # one HTTP request, connecting included
    attempts: int = 3  # first try + retries, on connection errors, timeouts and 5xx
    backoff_s: float = 0.2  # before the first retry; doubles each time, plus jitter
    backoff_max_s: float = 1.0
    deadline_s: float = 3.5  # one registry call, all attempts and waits included
    breaker_threshold: int = 5  # consecutive failed requests that open the breaker
    breaker_cooldown_s: float = 30.0  # fail fast this long, then let one trial through

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.breaker_threshold < 1:
            raise ValueError("registry attempts and breaker threshold must be at least 1")
        if min(self.request_timeout_s, self.deadline_s) <= 0:
            raise ValueError("registry timeouts must be positive")


@dataclass(frozen=True)
class ActionSettings:
    """Where the action server keeps and finds its data, and which registry it asks."""

    registry_db: Path
    residents_seed: Path
    services_file: Path
    centers_file: Path
    pending_db: Path = DEFAULT_VAR_DIR / "pending.sqlite3"
    # The registry's HTTP API; unset means the embedded SQLite registry.
    registry_url: str | None = None
    registry_token: str | None = field(default=None, repr=False)
    registry_http: RegistryHttpSettings = field(default_factory=RegistryHttpSettings)
    # Days settled requests and conversations are kept (PIPL: no longer than needed).
    retention_days: int = 180
    # How many different residents one helper may authenticate (帮他人认证).
    helper_limit: int = 8
    # How often each region's pensioners authenticate (actions.cycle).
    auth_cycle: CycleSettings = field(
        default_factory=lambda: CycleSettings.parse("", DEMO_CALENDAR_YEAR_DISTRICTS)
    )

    @classmethod
    def from_env(cls) -> ActionSettings:
        var_dir = Path(os.environ.get("VAR_DIR", DEFAULT_VAR_DIR))
        return cls(
            registry_db=Path(os.environ.get("REGISTRY_DB", var_dir / "registry.sqlite3")),
            residents_seed=DATA_DIR / "residents.csv",
            services_file=DATA_DIR / "services.yml",
            centers_file=DATA_DIR / "service_centers.yml",
            pending_db=Path(os.environ.get("PENDING_DB", var_dir / "pending.sqlite3")),
            registry_url=os.environ.get("REGISTRY_URL", "").strip() or None,
            registry_token=os.environ.get("REGISTRY_TOKEN", "").strip() or None,
            retention_days=int(os.environ.get("RETENTION_DAYS", "180")),
            helper_limit=int(os.environ.get("HELPER_LIMIT", "8")),
            auth_cycle=CycleSettings.parse(
                os.environ.get("AUTH_CYCLE_DEFAULT", ""),
                os.environ.get("AUTH_CYCLE_DISTRICTS", DEMO_CALENDAR_YEAR_DISTRICTS),
                os.environ.get("AUTH_CYCLE_EARLY_DAYS", ""),
            ),
        )
