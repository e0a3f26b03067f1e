"""Real Alertmanager and Prometheus for the monitor tests, on loopback ports with temp storage.

A missing binary fails the test under CI=true (CI installs them) and skips it elsewhere, saying
how to install it. Nothing is mocked: these are Debian's `prometheus-alertmanager` and
`prometheus`, started and stopped by the test that needs them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

PACKAGES = {"prometheus-alertmanager": "prometheus-alertmanager", "prometheus": "prometheus",
            "promtool": "prometheus"}


def require_binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = (f"{name} is not installed; install it with `apt-get install "
                   f"{PACKAGES.get(name, name)}` (CI's .ci/run does)")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll until `check()` is truthy; fail naming `what` (a wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as error:  # noqa: BLE001 - a server still starting
            last = error
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}; last: {last!r}")


def http_json(url: str, body: Any = None, method: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read()
    return json.loads(text) if text.strip() else None


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Process:
    def __init__(self, args: list[str], log: Path) -> None:
        self.args, self.log = args, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(self.args, stdout=handle, stderr=subprocess.STDOUT)
        handle.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Alertmanager(Process):
    def __init__(self, workdir: Path, config: dict[str, Any], port: int | None = None) -> None:
        binary = require_binary("prometheus-alertmanager")
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path = workdir / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config))
        super().__init__([binary, f"--config.file={path}", f"--storage.path={workdir / 'data'}",
                          f"--web.listen-address=127.0.0.1:{self.port}",
                          "--cluster.listen-address=", "--log.level=warn"],
                         workdir / "alertmanager.log")

    def start(self) -> None:
        super().start()
        wait_for(self.ready, 30, f"Alertmanager on {self.url} ({self.log})")

    def ready(self) -> bool:
        return _ok(f"{self.url}/-/ready")

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"filter={k}%3D%22{v}%22" for k, v in filters.items())
        return list(http_json(f"{self.url}/api/v2/alerts?{query}"))


class Prometheus(Process):
    def __init__(self, workdir: Path, scrape_port: int, rules: tuple[Path, ...] = (),
                 interval: str = "1s") -> None:
        binary = require_binary("prometheus")
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {"global": {"scrape_interval": interval, "evaluation_interval": interval},
                  "rule_files": [str(r) for r in rules],
                  "scrape_configs": [{"job_name": "sixhours-worker", "static_configs": [
                      {"targets": [f"127.0.0.1:{scrape_port}"]}]}]}
        path = workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        super().__init__([binary, f"--config.file={path}",
                          f"--storage.tsdb.path={workdir / 'tsdb'}",
                          f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                         workdir / "prometheus.log")

    def start(self) -> None:
        super().start()
        wait_for(lambda: _ok(f"{self.url}/-/ready"), 60, f"Prometheus on {self.url} ({self.log})")

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode(params)
        answer = http_json(url)
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])


class Receiver:
    """An HTTP endpoint that records what Alertmanager (or our webhook sink) posts to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

