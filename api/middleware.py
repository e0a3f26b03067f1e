"""Plain ASGI middleware: a request body size limit, and one JSON access-log line per request.

The access log names the route's template (never the raw path or query, which carry case ids and
times), the status, the duration, and who called (role and staff id from the token): no request
or response bodies, so no personal data.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem

access_log = logging.getLogger("sixhours.access")

BODY_METHODS = (b"POST", b"PUT", b"PATCH")


class BodyLimit:
    """Refuse a request body over `max_bytes` with 413 before the route sees any of it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"].encode() not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = Problem(413, "body_too_large",
                          f"the request body is larger than {self.max_bytes} bytes",
                          max_bytes=self.max_bytes)
        await problem.response()(scope, receive, send)


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id = os.urandom(8).hex()  # 16 hex digits, as before, without building a UUID

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(orjson.dumps(_entry(scope, status, started, request_id)).decode())


def _entry(scope: Scope, status: int, started: float, request_id: str) -> dict[str, Any]:
    route = scope.get("route")
    principal = scope.get("sixhours.principal")
    return {"ts": time.time(), "request_id": request_id, "method": scope["method"],
            "route": getattr(route, "path", None) or "(unmatched)", "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "role": str(principal.role) if principal else None,
            "subject": principal.subject if principal else None}
