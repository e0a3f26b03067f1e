"""Recording a case step: the system sets recorded_at; resubmitting an event id is a no-op.

`POST /steps` is the API's hot path: under load most of a step's time in this process went to
FastAPI's routing, dependency resolution and exception middleware rather than to the step. So
`RecordStepFastPath`, a plain ASGI middleware inside the access log and the body limit, answers
`POST /steps` itself with `record_step_answer`, the same code the FastAPI route below runs, and
renders refusals with the same problem details. The route stays for the OpenAPI document (the
same two headers as `CurrentUser` and `Lang` declare: `HEADER_PARAMETERS`) and answers when the
fast path steps aside (an app mounted under a root path). The checks run in the same order
either way: token (401), role (403), body (422), scope (403), the rules (422/409).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from starlette.datastructures import Headers
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from api import problems
from api.auth import Action, Principal
from api.context import ApiContext
from api.deps import HEADER_PARAMETERS, authenticate, preferred_language
from api.schemas import STEP_REQUEST_BODY, StepOut, step_json
from api.writer import GroupCommitWriter, Recorded
from domain.errors import RuleViolation
from domain.events import parse_event

router = APIRouter(tags=["steps"])

PATH = "/steps"
OPENAPI: dict[str, Any] = {**STEP_REQUEST_BODY, "parameters": HEADER_PARAMETERS}
JSON = "application/json"


@router.post(
    PATH, status_code=201, response_model=StepOut, openapi_extra=OPENAPI,
    responses={200: {"model": StepOut, "description": "already recorded: the original step"},
               **problems.responses(401, 403, 409, 413, 422, 503)})
async def record_step(request: Request) -> Response:
    """Record one step of a case (201); the same event id and content again answers 200."""
    status, body = await record_step_answer(request.app.state.context, request.app.state.writer,
                                            request.scope, await request.body())
    return Response(body, status_code=status, media_type=JSON)


async def record_step_answer(context: ApiContext, writer: GroupCommitWriter,
                             scope: MutableMapping[str, Any], body: bytes) -> tuple[int, bytes]:
    """The status and JSON body of `POST /steps`, or a `Problem`."""
    headers = Headers(scope=scope)
    principal = authenticate(scope, context, headers.get("authorization"))
    lang = preferred_language(headers.get("accept-language"), context.lang)
    principal.require(Action.record)
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise problems.refused(RuleViolation("invalid_json", detail=str(error)), lang) from None
    try:
        recorded = await record_as(context, writer, principal, raw)
    except RuleViolation as violation:
        raise problems.refused(violation, lang) from None
    return (201 if recorded.status == "accepted" else 200,
            orjson.dumps(step_json(recorded.step, context.tz)))


async def record_as(context: ApiContext, writer: GroupCommitWriter, principal: Principal,
                    raw: object) -> Recorded:
    """Record a submitted event for `principal` (the API and the web pages): the role, the
    event on its own, the scope, then the rules. Raises `RuleViolation` or `Problem`."""
    principal.require(Action.record)
    if isinstance(raw, dict) and "recorded_at" in raw:
        raise RuleViolation("system_field", field="recorded_at").about(
            case_id=_text(raw.get("case_id")), event_id=_text(raw.get("event_id")))
    step = parse_event(raw, default_recorded_at=context.clock())
    allowed = principal.scope(context.network.subtree)
    if allowed is not None and len(allowed) == len(context.network.get().points):
        allowed = None  # a clerk of the root: no case is out of scope, no history to read
    return await writer.record(step, allowed)


class RecordStepFastPath:
    """Answer `POST /steps` without FastAPI's routing (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Named in the access log, as the router would have set it.
        self.route: BaseRoute = next(r for r in router.routes if getattr(r, "path", None) == PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH
                or scope.get("root_path")):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        body = await _body(receive)
        if body is None:
            return  # the client went away before it finished sending
        state = scope["app"].state
        try:
            status, answer = await record_step_answer(state.context, state.writer, scope, body)
        except problems.Problem as problem:
            await problem.response()(scope, receive, send)
            return
        except Exception as error:
            if not problems.is_store_unavailable(error):
                raise  # the server's error middleware answers 500, as for any route
            await problems.unavailable().response()(scope, receive, send)
            return
        await Response(answer, status_code=status, media_type=JSON)(scope, receive, send)


async def _body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
