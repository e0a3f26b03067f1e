"""Recording a case step: the system sets recorded_at; resubmitting an event id is a no-op."""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Request, Response

from api import problems
from api.auth import Action
from api.deps import ContextDep, CurrentUser, Lang, WriterDep
from api.schemas import STEP_REQUEST_BODY, StepOut, step_json
from domain.errors import RuleViolation
from domain.events import parse_event

router = APIRouter(tags=["steps"])


@router.post(
    "/steps", status_code=201, response_model=StepOut, openapi_extra=STEP_REQUEST_BODY,
    responses={200: {"model": StepOut, "description": "already recorded: the original step"},
               **problems.responses(401, 403, 409, 413, 422, 503)})
async def record_step(request: Request, context: ContextDep, writer: WriterDep,
                      principal: CurrentUser, lang: Lang) -> Response:
    """Record one step of a case (201); the same event id and content again answers 200."""
    principal.require(Action.record)
    try:
        raw = orjson.loads(await request.body())
    except orjson.JSONDecodeError as error:
        raise problems.refused(RuleViolation("invalid_json", detail=str(error)), lang) from None
    try:
        if isinstance(raw, dict) and "recorded_at" in raw:
            raise RuleViolation("system_field", field="recorded_at").about(
                case_id=_text(raw.get("case_id")), event_id=_text(raw.get("event_id")))
        step = parse_event(raw, default_recorded_at=context.clock())
    except RuleViolation as violation:
        raise problems.refused(violation, lang) from None
    allowed = principal.scope(context.network.subtree)
    if allowed is not None and len(allowed) == len(context.network.get().points):
        allowed = None  # a clerk of the root: no case is out of scope, no history to read
    future = writer.submit(step, allowed)
    try:
        recorded = await asyncio.wrap_future(future)
    except RuleViolation as violation:
        raise problems.refused(violation, lang) from None
    return Response(orjson.dumps(step_json(recorded.step, context.tz)),
                    status_code=201 if recorded.status == "accepted" else 200,
                    media_type="application/json")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
