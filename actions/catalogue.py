"""The service catalogue (办事指南) and the service centres, loaded from committed files.

The files are edited by people, not programs, so loading checks them and names the entry
that is wrong: a broken catalogue should stop the action server at start-up, not surface
as a half-read answer to a resident. Finding the service a user *means* (colloquial names,
recogniser errors) is ``actions.service_search``; here a service is looked up by its
official name or id only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

_SERVICE_TEXT_FIELDS = ("id", "name", "eligibility", "where", "hours", "phone", "fee")
_CENTER_TEXT_FIELDS = ("district", "name", "address", "hours", "phone")


class CatalogueError(ValueError):
    """A catalogue file that cannot be used as it is."""


@dataclass(frozen=True)
class Service:
    """One service as it is read aloud: every field is a short spoken phrase."""

    id: str
    name: str
    aliases: tuple[str, ...]
    eligibility: str
    materials: tuple[str, ...]
    steps: tuple[str, ...]
    where: str
    hours: str
    phone: str
    online: str | None
    fee: str

    @property
    def terms(self) -> tuple[str, ...]:
        """Everything people call this service: the official name first, then the aliases."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ServiceCenter:
    district: str
    name: str
    address: str
    hours: str
    phone: str
    access: tuple[str, ...]


def _text(item: dict[str, Any], field: str, where: str) -> str:
    value = item.get(field)
    if value is None or not str(value).strip():
        raise CatalogueError(f"{where}: missing {field!r}")
    return str(value).strip()


def _texts(item: dict[str, Any], field: str, where: str, required: bool) -> tuple[str, ...]:
    values = tuple(str(v).strip() for v in item.get(field) or () if str(v).strip())
    if required and not values:
        raise CatalogueError(f"{where}: {field!r} needs at least one item")
    return values


def _service(item: dict[str, Any], index: int) -> Service:
    where = f"service #{index} ({item.get('id', '?')})"
    text = {field: _text(item, field, where) for field in _SERVICE_TEXT_FIELDS}
    online = item.get("online")
    return Service(
        **text,
        aliases=_texts(item, "aliases", where, required=False),
        materials=_texts(item, "materials", where, required=True),
        steps=_texts(item, "steps", where, required=True),
        online=str(online).strip() if online else None,
    )


def _unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CatalogueError(f"duplicate {what} {value!r}")
        seen.add(value)


@lru_cache(maxsize=4)
def load_services(path: Path) -> tuple[Service, ...]:
    """All services in ``path``; raises CatalogueError naming the first broken entry."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["services"]
    services = tuple(_service(item, index) for index, item in enumerate(raw, start=1))
    _unique([s.id for s in services], "service id")
    _unique([s.name for s in services], "service name")
    logger.info("Loaded %d services from %s", len(services), path)
    return services


@lru_cache(maxsize=4)
def load_centers(path: Path) -> tuple[ServiceCenter, ...]:
    """All service centres in ``path``; raises CatalogueError naming the first broken one."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["centers"]
    centers = []
    for index, item in enumerate(raw, start=1):
        where = f"centre #{index} ({item.get('district', '?')})"
        text = {field: _text(item, field, where) for field in _CENTER_TEXT_FIELDS}
        centers.append(ServiceCenter(**text, access=_texts(item, "access", where, False)))
    _unique([c.district for c in centers], "district")
    logger.info("Loaded %d service centres from %s", len(centers), path)
    return tuple(centers)


def service_named(name: str, services: tuple[Service, ...]) -> Service | None:
    """The service with exactly this official name (the value the ``service`` slot holds)."""
    return next((s for s in services if s.name == name.strip()), None)


def service_with_id(service_id: str, services: tuple[Service, ...]) -> Service | None:
    return next((s for s in services if s.id == service_id), None)


def find_center(district: str, centers: tuple[ServiceCenter, ...]) -> ServiceCenter | None:
    """The centre of a district; "朝阳" finds 朝阳区, "浦东" finds 浦东新区."""
    bare = district.strip().removesuffix("区")
    for center in centers:
        if center.district.removesuffix("区") == bare or (bare and bare in center.district):
            return center
    return None
