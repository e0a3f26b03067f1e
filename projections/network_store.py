"""The current service network, kept in the database beside the read models."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from sqlalchemy import Engine, delete, insert, select

from domain.network import Network, ServicePoint, Supervisor, build_network
from projections.tables import network_imports, points_in_use, service_points


def load_network(engine: Engine) -> Network:
    with engine.connect() as conn:
        rows = conn.execute(select(service_points)).mappings().all()
    if not rows:
        return Network()
    return build_network([ServicePoint(
        id=r["id"], name=r["name"], level=r["level"], parent=r["parent"], area=r["area"],
        kind=r["kind"], host=r["host"], retired=bool(r["retired"]), merged_into=r["merged_into"],
        supervisors=tuple(Supervisor(**s) for s in json.loads(r["supervisors"])),
    ) for r in rows])


def points_used_by_events(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(select(points_in_use.c.point_id))}


def save_network(engine: Engine, points: Sequence[ServicePoint],
                 changes: dict[str, list[str]]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(service_points))
        conn.execute(insert(service_points), [{
            "id": p.id, "name": p.name, "level": p.level, "parent": p.parent, "area": p.area,
            "kind": p.kind, "host": p.host, "retired": p.retired, "merged_into": p.merged_into,
            "supervisors": json.dumps([{"id": s.id, "name": s.name, "contact": s.contact}
                                       for s in p.supervisors], ensure_ascii=False),
        } for p in points])
        conn.execute(insert(network_imports).values(
            imported_at_us=int(time.time() * 1_000_000),
            changes=json.dumps(changes, ensure_ascii=False)))
