"""`sixhours serve` and `sixhours tokens issue`: the HTTP API, wired from Settings.

On the embedded default (SQLite) `serve` also runs the projection worker in the same process, so
one command serves everything. On PostgreSQL `sixhours worker` runs as a process of its own and
`serve` runs the API alone, unless `--projections` asks for the worker here too.
"""

from __future__ import annotations

import base64
import gc
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Annotated

import typer
from fastapi import FastAPI

from api.app import create_app
from api.auth import KeyRing, Principal, Role
from api.context import ApiContext, Limits
from api.network_cache import NetworkCache
from projections.live import run_worker
from sixhours.bootstrap import Container, build, utc_now
from sixhours.monitoring import attach_alerting, monitors_running
from sixhours.settings import Settings

log = logging.getLogger("sixhours.serve")

DEV_KEY_ID = "dev"
DEV_TOKEN_KEY = b"sixhours-dev-mode-token-key, public: demos and tests only"


class MissingTokenKeys(RuntimeError):
    pass


def keyring(settings: Settings) -> KeyRing:
    keys = {kid: base64.b64decode(value.get_secret_value())
            for kid, value in settings.api_keys.items()}
    if not keys and settings.dev_mode:
        keys = {DEV_KEY_ID: DEV_TOKEN_KEY}
    if not keys:
        raise MissingTokenKeys(
            'SIXHOURS_API_KEYS is not set: the API cannot verify tokens. Set it to JSON such as '
            '{"k1": "<base64 of 32 random bytes>"} (`sixhours keys generate` prints one), or set '
            "SIXHOURS_DEV_MODE=1 for a demo.")
    return KeyRing(keys, settings.api_signing_key_id)


@dataclass
class ProjectionLoop:
    """The live projection worker in a background thread; `refresh()` catches up right now
    (read-your-writes), taking turns with the worker."""

    container: Container
    stop: threading.Event

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sixhours-projections", daemon=True)

    def refresh(self) -> None:
        with self._lock:
            self.container.live_pass()

    def _sync(self, should_stop: Callable[[], bool]) -> bool:
        with self._lock:
            return self.container.live_pass(should_stop)

    def _run(self) -> None:
        wakeup = self.container.wakeup()
        try:
            run_worker(self._sync, wakeup, self.stop)
        finally:
            wakeup.close()

    def start(self) -> ProjectionLoop:
        self._thread.start()
        return self

    def join(self, timeout: float = 30.0) -> None:
        self._thread.join(timeout)


def start_projection_loop(container: Container, stop: threading.Event) -> ProjectionLoop:
    return ProjectionLoop(container, stop).start()


def api_context(container: Container, loop: ProjectionLoop | None = None) -> ApiContext:
    settings = container.settings
    return ApiContext(
        service=container.service, engine=container.engine, queries=container.queries,
        policies=container.policies, default_policy=settings.default_policy, tz=settings.tz,
        keys=keyring(settings), clock=utc_now, network=NetworkCache(container.network),
        lang=settings.lang,
        limits=Limits(max_body_bytes=settings.api_max_body_bytes,
                      max_page_size=settings.api_max_page_size),
        refresh_read_model=loop.refresh if loop is not None else None)


def build_app(container: Container, loop: ProjectionLoop | None = None) -> FastAPI:
    container.settings.master_key()  # refuse to start without the key that seals personal data
    app = create_app(api_context(container, loop))
    attach_alerting(app, container.settings)  # issue 5: acknowledgements as silences
    return app


def _store_defaults() -> None:
    # eventsourcing's PostgreSQL pool: test a pooled connection before use, and give up on a
    # connection after 2 s, so that a database outage answers 503 quickly and heals by itself.
    os.environ.setdefault("POSTGRES_PRE_PING", "y")
    os.environ.setdefault("POSTGRES_CONNECT_TIMEOUT", "2")


def _freeze_startup_heap() -> None:
    # What start-up built (modules, the app, the network) lives as long as the process. Frozen,
    # it is no longer walked by every full garbage collection: 60-80 ms a pass here, a pause
    # that every request in flight waits out (the p99 of the HTTP benchmark).
    gc.collect()
    gc.freeze()


def _log_json_lines() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("sixhours.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    projections: Annotated[bool | None, typer.Option(
        "--projections/--no-projections",
        help="Keep the read models fresh in this process (default: on for SQLite).")] = None,
    access_log: Annotated[bool, typer.Option(help="One JSON line per request on stderr.")] = True,
) -> None:
    """运行 HTTP API（OpenAPI 文档在 /docs）。嵌入式 SQLite 时同一进程也更新统计数据。

    Run the HTTP API (OpenAPI at /docs). On SQLite the same process keeps the figures fresh.

    Example: sixhours serve --port 8000
    """
    import uvicorn

    _store_defaults()
    try:
        settings = Settings()
        keyring(settings)
    except (ValueError, MissingTokenKeys) as error:
        typer.echo(f"settings: {error}", err=True)
        raise typer.Exit(2) from None
    container = build(settings)
    stop = threading.Event()
    run_loop = projections if projections is not None else settings.database_url.startswith("sqlite")
    loop = start_projection_loop(container, stop) if run_loop else None
    if access_log:
        _log_json_lines()
    # issue 5: where this process is the worker, it also runs the alert pass and /metrics
    monitoring: AbstractContextManager[object] = (
        monitors_running(container) if run_loop else nullcontext())
    try:
        with monitoring:
            app = build_app(container, loop)
            _freeze_startup_heap()
            uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    finally:
        stop.set()
        if loop is not None:
            loop.join()
        container.close()


def tokens_issue(
    role: Annotated[str, typer.Option(help="clerk | supervisor | leadership | auditor | admin")],
    subject: Annotated[str, typer.Option(help="Staff id the token speaks for.")],
    service_point: Annotated[str | None, typer.Option(
        help="For clerk and supervisor: the root of the subtree they act on.")] = None,
    pii: Annotated[bool, typer.Option(help="Grant personal data (clerk, auditor).")] = False,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 8 * 3600,
) -> None:
    """签发 API 令牌。Issue a bearer token for the HTTP API.

    Example: sixhours tokens issue --role clerk --subject staff-017 --service-point ly-yc
    """
    try:
        settings = Settings()
        ring = keyring(settings)
        principal = Principal(subject=subject, role=Role(role), service_point=service_point, pii=pii)
        token = ring.issue(principal, ttl)
    except (ValueError, MissingTokenKeys) as error:
        typer.echo(f"{error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"token": token, "key_id": ring.signing_key_id, "role": role,
                           "subject": subject, "service_point": service_point, "pii": pii,
                           "expires_in": ttl}))
