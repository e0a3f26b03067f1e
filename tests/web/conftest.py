"""The web pages on this test's database (SQLite and PostgreSQL), with staff accounts.

Accounts are created with the real `sixhours users add --password-stdin`; the pages are driven
with an HTTP client that keeps cookies and reads each form's hidden fields, as a browser does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sixhours.bootstrap import Container, build
from sixhours.cli import app as cli
from sixhours.serve import build_app
from sixhours.settings import Settings
from tests.api.conftest import install_network

PASSWORD = "correct horse battery staple"
# subject, role, service point, personal-data grant
ACCOUNTS: tuple[tuple[str, str, str | None, bool], ...] = (
    ("clerk-yc", "clerk", "ly-yc", True),  # 永昌街道工作站 (隆阳区)
    ("clerk-yc-plain", "clerk", "ly-yc", False),
    ("clerk-tyz", "clerk", "tc-tyz", False),  # 腾越镇工作站 (腾冲市): another township
    ("sup-ly", "supervisor", "ly", False),  # 隆阳区
    ("auditor-1", "auditor", None, True),
)


def add_accounts(env: dict[str, str]) -> None:
    runner = CliRunner()
    for subject, role, point, pii in ACCOUNTS:
        args = ["users", "add", "--subject", subject, "--role", role, "--password-stdin"]
        args += ["--service-point", point] if point else []
        args += ["--pii"] if pii else []
        result = runner.invoke(cli, args, input=PASSWORD + "\n", env=env)
        assert result.exit_code == 0, result.output


def hidden(html: str, name: str) -> str:
    """The value of the first hidden input `name` in a page."""
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert found is not None, f"no {name} field in the page"
    return found.group(1)


def refusal_rule(html: str) -> str | None:
    found = re.search(r'id="refusal-rule">([^<]+)<', html)
    return found.group(1) if found else None


def problem_code(html: str) -> str | None:
    found = re.search(r'id="problem-code">([^<]+)<', html)
    return found.group(1) if found else None


@dataclass
class Pages:
    client: TestClient
    container: Container

    def login(self, subject: str, password: str = PASSWORD) -> httpx.Response:
        self.client.cookies.clear()
        form = self.client.get("/web/login")
        return self.client.post("/web/login", data={
            "nonce": hidden(form.text, "nonce"), "next": "/web/", "subject": subject,
            "password": password}, follow_redirects=False)

    def csrf(self, path: str = "/web/cases") -> str:
        return hidden(self.client.get(path).text, "csrf")

    def register(self, **fields: Any) -> str:
        """Register an application as the signed-in clerk; the new case's id."""
        page = self.client.get("/web/cases/new")
        data = {"csrf": hidden(page.text, "csrf"), "event_id": hidden(page.text, "event_id"),
                "data.service_point": "ly-yc", "data.channel": "walk_in",
                "data.category": "civil", **fields}
        answer = self.client.post("/web/cases/new", data=data, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        found = re.match(r"/web/cases/([^?]+)\?", answer.headers["location"])
        assert found is not None
        return found.group(1)

    def step(self, case_id: str, kind: str, csrf: str | None = None,
             headers: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
        """Post a step form of the case page (field names without the `data.` prefix)."""
        page = self.client.get(f"/web/cases/{case_id}")
        data = {"csrf": hidden(page.text, "csrf") if csrf is None else csrf, "type": kind,
                "event_id": f"{case_id}-{kind}-{len(self.stored(case_id))}"}
        for name, value in fields.items():
            key = name if name in ("occurred_at", "event_id") else f"data.{name}"
            data[key] = value
        return self.client.post(f"/web/cases/{case_id}/steps", data=data,
                                headers=headers or {}, follow_redirects=False)

    def stored(self, case_id: str) -> list[str]:
        return [s.type for s in self.container.service.history(case_id)]


@pytest.fixture
def pages(env: dict[str, str]) -> Iterator[Pages]:
    container = build(Settings(lang="zh"))  # the pages' default, whatever the shell says
    install_network(container)
    add_accounts(env)
    with TestClient(build_app(container)) as client:
        yield Pages(client, container)
    container.close()
