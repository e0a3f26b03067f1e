"""`sixhours dashboards push`: the requests grafana-client makes to put the dashboards in Grafana.

Grafana cannot run here, so the real client runs up to its HTTP transport: an adapter mounted on
its session records each prepared request and answers with a bare status and no body (204, or
the status a test names for one request) — enough to steer the client, nothing that plays
Grafana. The tests assert the method, path, headers and JSON body of every request.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from typer.testing import CliRunner
from urllib3 import HTTPResponse

from dashboards.build import DASHBOARDS, build_all
from dashboards.push import Folder, PushFailed, connect, push
from sixhours.cli import app
from sixhours.dashboards_cli import load_config
from tests.dashboards.committed import CONFIG, committed
from tests.monitors.servers import free_port

GRAFANA = "http://grafana.example.invalid:3000"  # never resolved: the adapter answers first
FOLDER = Folder(uid="sixhours", title="六个一小时")


class RecordingTransport(HTTPAdapter):
    def __init__(self, statuses: dict[tuple[str, str], int] | None = None) -> None:
        super().__init__()
        self.statuses = statuses or {}
        self.requests: list[PreparedRequest] = []

    def send(self, request: PreparedRequest, **_: Any) -> Response:  # type: ignore[override]
        self.requests.append(request)
        path = str(request.url).removeprefix(GRAFANA)
        status = self.statuses.get((str(request.method), path), 204)
        return self.build_response(request, HTTPResponse(body=io.BytesIO(b""), status=status,
                                                          headers={}, preload_content=False))

    def seen(self) -> list[tuple[str, str, Any]]:
        return [(str(r.method), str(r.url).removeprefix(GRAFANA),
                 json.loads(r.body) if isinstance(r.body, bytes) else None)
                for r in self.requests]

    def headers(self, name: str) -> set[str | bytes]:
        return {r.headers[name] for r in self.requests if r.headers is not None}


def _recorded(statuses: dict[tuple[str, str], int] | None = None,
              **credentials: str) -> tuple[Any, RecordingTransport]:
    api = connect(GRAFANA, **credentials)
    transport = RecordingTransport(statuses)
    api.client.s.mount("http://", transport)
    return api, transport


def _dashboard_posts() -> list[tuple[str, str, Any]]:
    return [("POST", "/api/dashboards/db",
             {"dashboard": json.loads(body) | {"id": None}, "folderUid": "sixhours",
              "overwrite": True, "message": "sixhours dashboards push"})
            for body in (committed()[name] for name in DASHBOARDS)]  # in the build's order


def test_push_to_a_new_grafana_creates_the_folder_then_saves_each_dashboard() -> None:
    api, transport = _recorded({("PUT", "/api/folders/sixhours"): 404}, token="glsa_token")
    uids = push(api, build_all(load_config(CONFIG), "zh-CN"), FOLDER, "sixhours dashboards push")
    assert uids == ["sixhours-leadership", "sixhours-supervisor", "sixhours-quality"]
    assert transport.seen() == [
        ("PUT", "/api/folders/sixhours", {"title": "六个一小时", "overwrite": True}),
        ("POST", "/api/folders", {"title": "六个一小时", "uid": "sixhours"}),
        *_dashboard_posts()]
    assert transport.headers("Authorization") == {"Bearer glsa_token"}
    assert transport.headers("Content-Type") == {"application/json"}


def test_pushing_again_renames_the_folder_in_place_and_overwrites_by_uid() -> None:
    first, again = _recorded(user="editor", password="s3cret"), _recorded(user="editor",
                                                                          password="s3cret")
    for api, _ in (first, again):
        push(api, build_all(load_config(CONFIG), "zh-CN"), FOLDER, "sixhours dashboards push")
    assert first[1].seen() == again[1].seen() == [
        ("PUT", "/api/folders/sixhours", {"title": "六个一小时", "overwrite": True}),
        *_dashboard_posts()]
    basic = "Basic " + base64.b64encode(b"editor:s3cret").decode()
    assert first[1].headers("Authorization") == {basic}


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_stop_before_any_dashboard(status: int) -> None:
    api, transport = _recorded({("PUT", "/api/folders/sixhours"): status}, token="expired")
    with pytest.raises(PushFailed, match="GRAFANA_TOKEN"):
        push(api, build_all(load_config(CONFIG), "en"), FOLDER, "m")
    assert [(m, p) for m, p, _ in transport.seen()] == [("PUT", "/api/folders/sixhours")]


def test_a_grafana_error_on_a_dashboard_is_reported_not_swallowed() -> None:
    api, _ = _recorded({("POST", "/api/dashboards/db"): 500}, token="t")
    with pytest.raises(PushFailed, match="failed"):
        push(api, build_all(load_config(CONFIG), "zh-CN"), FOLDER, "m")


def test_the_command_says_when_grafana_cannot_be_reached() -> None:
    port = free_port()  # nothing listens there: a real connection attempt, refused
    result = CliRunner().invoke(app, ["dashboards", "push", "--url", f"http://127.0.0.1:{port}",
                                      "--config", str(CONFIG)], env={"GRAFANA_TOKEN": "t"})
    assert result.exit_code == 1
    assert f"cannot reach Grafana at http://127.0.0.1:{port}" in result.stderr
    assert "--url" in result.stderr
