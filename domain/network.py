"""The service network of SPEC §2: service points in a tree, and safe updates to it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.events import ID_PATTERN

LEVELS = ("country", "province", "city", "county", "township", "village")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
KINDS = ("centre", "workstation", "contact_point")
AREAS = ("urban", "rural")
POINT_FIELDS = ("id", "name", "level", "parent", "area", "kind", "host", "supervisors",
                "retired", "merged_into")


class NetworkError(ValueError):
    """A network file or update that cannot be accepted, naming the point and the reason."""


@dataclass(frozen=True, slots=True)
class Supervisor:
    id: str
    name: str
    contact: str | None = None


@dataclass(frozen=True, slots=True)
class ServicePoint:
    id: str
    name: str
    level: str
    parent: str | None
    area: str
    kind: str
    host: str | None = None
    supervisors: tuple[Supervisor, ...] = ()
    retired: bool = False
    merged_into: str | None = None


@dataclass
class Network:
    points: dict[str, ServicePoint] = field(default_factory=dict)

    # PointLookup, for the case rules
    def is_known(self, point_id: str) -> bool:
        return point_id in self.points

    def is_retired(self, point_id: str) -> bool:
        return self.points[point_id].retired

    def area_of(self, point_id: str | None) -> str | None:
        point = self.points.get(point_id or "")
        return point.area if point else None

    def ancestors(self, point_id: str) -> list[ServicePoint]:
        """The point itself, then its parent, up to the root."""
        chain: list[ServicePoint] = []
        current = self.points.get(point_id)
        while current is not None and len(chain) <= len(self.points):
            chain.append(current)
            current = self.points.get(current.parent or "")
        return chain

    def key_at_level(self, point_id: str, level: str) -> str:
        """SPEC §2: the ancestor at `level`, or the point itself where it stands above it."""
        for point in self.ancestors(point_id):
            if point.level == level:
                return point.id
            if LEVEL_RANK[point.level] < LEVEL_RANK[level]:
                return point.id
        return point_id

    def supervisors_of(self, point_id: str) -> tuple[Supervisor, ...]:
        for point in self.ancestors(point_id):
            if point.supervisors:
                return point.supervisors
        return ()

    def subtree(self, root_id: str) -> set[str]:
        return {pid for pid in self.points if any(a.id == root_id for a in self.ancestors(pid))}


def parse_points(raw: object) -> list[ServicePoint]:
    if not isinstance(raw, list):
        raise NetworkError("a network file is a list of service points")
    return [_parse_point(item, index) for index, item in enumerate(raw, start=1)]


def _parse_point(item: object, index: int) -> ServicePoint:
    if not isinstance(item, Mapping):
        raise NetworkError(f"entry {index}: expected a mapping")
    pid = item.get("id")
    where = f"service point {pid!r} (entry {index})"
    if not isinstance(pid, str) or not ID_PATTERN.fullmatch(pid):
        raise NetworkError(f"{where}: id must match [A-Za-z0-9._-]{{1,64}}")
    unknown = set(item) - set(POINT_FIELDS)
    if unknown:
        raise NetworkError(f"{where}: unknown fields {sorted(unknown)}")
    for key, allowed in (("level", LEVELS), ("area", AREAS), ("kind", KINDS)):
        if item.get(key) not in allowed:
            raise NetworkError(f"{where}: {key} must be one of {', '.join(allowed)}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise NetworkError(f"{where}: name is required")
    retired = item.get("retired", False)
    if type(retired) is not bool:
        raise NetworkError(f"{where}: retired must be true or false")
    return ServicePoint(
        id=pid, name=name, level=item["level"], parent=item.get("parent"), area=item["area"],
        kind=item["kind"], host=item.get("host"),
        supervisors=tuple(_supervisor(s, where) for s in item.get("supervisors") or ()),
        retired=retired, merged_into=item.get("merged_into"),
    )


def _supervisor(raw: Any, where: str) -> Supervisor:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
        raise NetworkError(f"{where}: each supervisor needs an id")
    return Supervisor(id=raw["id"], name=str(raw.get("name", raw["id"])),
                      contact=raw.get("contact"))


def build_network(points: Sequence[ServicePoint]) -> Network:
    """Check the tree: unique ids, exactly one root, known parents, parents above children."""
    network = Network()
    for point in points:
        if point.id in network.points:
            raise NetworkError(f"service point {point.id!r} appears twice")
        network.points[point.id] = point
    roots = [p.id for p in points if p.parent is None]
    if len(roots) != 1:
        raise NetworkError(f"a network has exactly one root; found {roots or 'none'}")
    for point in points:
        _check_links(network, point)
    return network


def _check_links(network: Network, point: ServicePoint) -> None:
    if point.parent is not None:
        parent = network.points.get(point.parent)
        if parent is None:
            raise NetworkError(f"service point {point.id!r}: unknown parent {point.parent!r}")
        if LEVEL_RANK[parent.level] >= LEVEL_RANK[point.level]:
            raise NetworkError(f"service point {point.id!r} ({point.level}) cannot sit under "
                               f"{parent.id!r} ({parent.level}): a parent is above its child")
    if point.merged_into is not None:
        if not point.retired:
            raise NetworkError(f"service point {point.id!r}: merged_into needs retired: true")
        if point.merged_into not in network.points:
            raise NetworkError(f"service point {point.id!r}: merged into unknown "
                               f"{point.merged_into!r}")


def update_network(current: Network, new_points: Sequence[ServicePoint],
                   referenced: Iterable[str]) -> tuple[Network, dict[str, list[str]]]:
    """Apply a new network file: add, rename, move, retire; never drop a point events use.

    Returns the new network and what changed (added, changed, retired, removed).
    """
    updated = build_network(new_points)
    missing = set(current.points) - set(updated.points)
    in_use = sorted(missing & set(referenced))
    if in_use:
        raise NetworkError("these service points are used by recorded events and cannot be "
                           f"removed (mark them retired instead): {', '.join(in_use)}")
    changes: dict[str, list[str]] = {"added": [], "changed": [], "retired": [],
                                     "removed": sorted(missing)}
    for pid, point in updated.points.items():
        before = current.points.get(pid)
        if before is None:
            changes["added"].append(pid)
        elif point.retired and not before.retired:
            changes["retired"].append(pid)
        elif point != before:
            changes["changed"].append(pid)
    return updated, changes
