"""An API on this test's database (SQLite and PostgreSQL), the example network, and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import KeyRing, Principal, Role
from domain.network import build_network, parse_points
from projections.network_store import save_network
from sixhours.bootstrap import Container, build
from sixhours.serve import build_app, keyring
from sixhours.settings import Settings
from tests.unit.factory import network_points


@dataclass
class Api:
    client: TestClient
    container: Container
    keys: KeyRing

    def auth(self, role: str, service_point: str | None = None, *, pii: bool = False,
             subject: str = "staff-017", ttl: int = 3600) -> dict[str, str]:
        token = self.keys.issue(Principal(subject, Role(role), service_point, pii), ttl)
        return {"Authorization": f"Bearer {token}"}

    def record(self, raw: Any, role: str = "clerk", service_point: str | None = "bs", *,
               content: bytes | None = None) -> Any:
        """POST /steps as a clerk of the whole network (messages in English)."""
        headers = {**self.auth(role, service_point if role in ("clerk", "supervisor") else None),
                   "Accept-Language": "en", "Content-Type": "application/json"}
        if content is None:
            return self.client.post("/steps", json=raw, headers=headers)
        return self.client.post("/steps", content=content, headers=headers)

    def recorded(self, raws: list[dict[str, Any]]) -> None:
        for raw in raws:
            response = self.record(raw)
            assert response.status_code == 201, response.text

    def stored_ids(self, case_id: str) -> list[str]:
        return [s.event_id for s in self.container.service.history(case_id)]

    def catch_up(self) -> None:
        self.container.catch_up()


def install_network(container: Container) -> None:
    network = build_network(parse_points(network_points()))
    save_network(container.engine, list(network.points.values()),
                 {"added": list(network.points), "changed": [], "retired": [], "removed": []})


@pytest.fixture
def api(env: dict[str, str]) -> Iterator[Api]:
    container = build(Settings())
    install_network(container)
    with TestClient(build_app(container)) as client:
        yield Api(client, container, keyring(container.settings))
    container.close()
