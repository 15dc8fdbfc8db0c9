"""The service catalogue (办事指南) and the service centres, loaded from committed files.

Matching here is by name and alias; fuzzy search over recogniser errors comes with the
full catalogue (tasks issue).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    aliases: tuple[str, ...]
    where: str
    materials: tuple[str, ...]


@dataclass(frozen=True)
class ServiceCenter:
    district: str
    name: str
    address: str
    hours: str
    phone: str
    access: tuple[str, ...]


@lru_cache(maxsize=4)
def load_services(path: Path) -> tuple[Service, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["services"]
    return tuple(
        Service(
            id=item["id"],
            name=item["name"],
            aliases=tuple(item.get("aliases") or ()),
            where=item["where"],
            materials=tuple(item["materials"]),
        )
        for item in raw
    )


@lru_cache(maxsize=4)
def load_centers(path: Path) -> tuple[ServiceCenter, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["centers"]
    return tuple(
        ServiceCenter(
            district=item["district"],
            name=item["name"],
            address=item["address"],
            hours=item["hours"],
            phone=item["phone"],
            access=tuple(item.get("access") or ()),
        )
        for item in raw
    )


def find_service(query: str, services: tuple[Service, ...]) -> Service | None:
    """The service whose name or alias appears in the query (longest match wins)."""
    best: tuple[int, Service] | None = None
    for service in services:
        for term in (service.name, *service.aliases):
            if term and (term in query or query in term) and (best is None or len(term) > best[0]):
                best = (len(term), service)
    return best[1] if best else None


def find_center(district: str, centers: tuple[ServiceCenter, ...]) -> ServiceCenter | None:
    """The centre of a district; "朝阳" finds 朝阳区."""
    bare = district.strip().removesuffix("区")
    for center in centers:
        if center.district.removesuffix("区") == bare or (bare and bare in center.district):
            return center
    return None
