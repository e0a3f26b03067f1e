"""The FastAPI application, built from the parts the composition root passes in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import pages, problems
from api.context import ApiContext
from api.middleware import AccessLog, BodyLimit
from api.routes import admin, alerts, cases, clocks, figures, health, steps
from api.routes import audit as audit_routes
from api.writer import GroupCommitWriter

DESCRIPTION = """\
六个一小时 法律援助服务时限监测 — Six Hours: record legal-aid case steps, read clock states,
replay cases, and query the "six hours" figures.

Authenticate with `Authorization: Bearer <token>` (`sixhours tokens issue`). Roles: **clerk**
records and reads the cases of its service point's subtree; **supervisor** reads its subtree;
**leadership** reads everything without personal data; **auditor** reads everything including
history and replays, personal data only with the `pii` grant (every such read is logged);
**admin** imports the network and issues tokens.

Errors are RFC 9457 problem details (`application/problem+json`): a refused step names the case,
the event and the `rule` — the same stable codes as `sixhours import` rejects.
"""


def create_app(context: ApiContext) -> FastAPI:
    writer = GroupCommitWriter(context.service, context.network.get)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        writer.start()
        try:
            yield
        finally:
            writer.stop()

    app = FastAPI(title="Six Hours API", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None)
    app.state.context = context
    app.state.writer = writer
    problems.install(app)
    for module in (steps, cases, figures, clocks, admin, health, alerts):
        app.include_router(module.router)
    app.include_router(audit_routes.router)  # issue 6
    pages.install(app)  # issue 7: web pages for clerks, supervisors and auditors
    app.add_middleware(steps.RecordStepFastPath)  # innermost: see api/routes/steps.py
    app.add_middleware(BodyLimit, max_bytes=context.limits.max_body_bytes)
    app.add_middleware(AccessLog)
    return app
