"""The live demo's HTTP client: `POST /steps` and `GET /cases/{id}` over one kept-alive
connection, with the standard library's client (httpx is only a development dependency)."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Callable
from functools import partial
from typing import Any


class ServerUnavailable(Exception):
    """No answer, or a 5xx: the same request is tried again later."""


class TokenRefused(Exception):
    """401 or 403: the server does not take this command's token (other keys?)."""


class StepApi:
    """`POST /steps` and `GET /cases/{id}` over one kept-alive connection."""

    def __init__(self, url: str, token: Callable[[], str], lang: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--url {url!r} is not an http:// or https:// address")
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._connect = partial(kind, parts.hostname, parts.port, timeout=30)
        self._prefix = parts.path.rstrip("/")
        self._token, self._lang = token, "zh-CN" if lang.startswith("zh") else "en"
        self._conn: http.client.HTTPConnection | None = None

    def post_step(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._request("POST", "/steps", json.dumps(event, ensure_ascii=False).encode())

    def case_exists(self, case_id: str) -> bool:
        return self._request("GET", f"/cases/{case_id}")[0] != 404

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _request(self, method: str, path: str, body: bytes | None = None
                 ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self._token()}", "Accept-Language": self._lang,
                   "Content-Type": "application/json"}
        # Twice at most: a kept-alive connection the server has closed fails on first use. A
        # repeated POST is safe: the same event id and content is recorded once (SPEC §3).
        for attempt in (1, 2):
            self._conn = self._conn or self._connect()
            try:
                self._conn.request(method, self._prefix + path, body, headers)
                response = self._conn.getresponse()
                status, raw = response.status, response.read()
                break
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if attempt == 2:
                    raise ServerUnavailable(str(error) or type(error).__name__) from None
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        if status >= 500:
            raise ServerUnavailable(f"HTTP {status} {answer.get('detail', '')}".strip())
        if status in (401, 403):
            raise TokenRefused(f"HTTP {status}: {answer.get('detail', '')}")
        return status, answer
