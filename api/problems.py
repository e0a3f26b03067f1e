"""RFC 9457 problem details: every refusal names what was refused and why, with a stable code.

A refusal by a SPEC §3 rule carries the same `rule` code as an import reject, and names the case
and the event. Other refusals (authentication, scope, limits, an unavailable store) carry a
`code` of their own. The store being away is a 503 with Retry-After, never a 500.
"""

from __future__ import annotations

from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import RuleViolation

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:sixhours:problem:"
RETRY_AFTER_SECONDS = 2

# Failures that mean "the database is not answering right now": the client should retry.
STORE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    StoreOperationalError, StoreInterfaceError, psycopg.OperationalError, psycopg.InterfaceError,
    ConnectionError, TimeoutError,
)

TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
          415: "Unsupported Media Type", 422: "Unprocessable Content", 500: "Internal Server Error",
          503: "Service Unavailable"}


class ProblemBody(BaseModel):
    """An RFC 9457 problem details object (for the OpenAPI schema)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    rule: str | None = None
    case_id: str | None = None
    event_id: str | None = None


class Problem(Exception):
    """A refusal to answer with a problem details body."""

    def __init__(self, status: int, code: str, detail: str, *, rule: str | None = None,
                 case_id: str | None = None, event_id: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.rule = rule
        self.case_id = case_id
        self.event_id = event_id
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": TYPE_PREFIX + self.code,
                                "title": TITLES.get(self.status, "Error"), "status": self.status,
                                "detail": self.detail, "code": self.code}
        for key in ("rule", "case_id", "event_id"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        body.update(self.extra)
        return body

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers,
                            media_type=MEDIA_TYPE)


def refused(violation: RuleViolation, lang: str) -> Problem:
    """A SPEC §3 refusal: 409 for a reused event id, 422 for every other rule."""
    status = 409 if violation.code == "event_id_conflict" else 422
    extra: dict[str, Any] = {"message_zh": violation.message("zh"),
                             "message_en": violation.message("en")}
    params = {k: v for k, v in violation.params.items() if isinstance(v, str | int | float | bool)}
    if params:
        extra["params"] = params
    return Problem(status, violation.code, violation.message(lang), rule=violation.code,
                   case_id=violation.case_id, event_id=violation.event_id, **extra)


def unavailable(detail: str = "the event store is not answering; retry shortly") -> Problem:
    return Problem(503, "store_unavailable", detail,
                   headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def is_store_unavailable(error: BaseException) -> bool:
    if isinstance(error, STORE_UNAVAILABLE):
        return True
    return isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error.orig, STORE_UNAVAILABLE))


def install(app: FastAPI) -> None:
    """Answer every error as problem details."""

    async def on_problem(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Problem)
        return error.response()

    async def on_http(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400:  # FastAPI could not parse a JSON body: as POST /steps says
            violation = RuleViolation("invalid_json", detail=str(error.detail))
            return Problem(422, "invalid_json", violation.message("en"),
                           rule="invalid_json").response()
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return Problem(error.status_code, code, str(error.detail),
                       headers=dict(error.headers or {})).response()

    async def on_validation(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                  for e in error.errors()]
        where = ", ".join(".".join(e["loc"]) for e in errors) or "the request"
        return Problem(422, "invalid_request", f"invalid parameters: {where}",
                       errors=errors).response()

    async def on_store_error(_: Request, error: Exception) -> JSONResponse:
        if is_store_unavailable(error):
            return unavailable().response()
        raise error

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    for kind in (*STORE_UNAVAILABLE, DBAPIError):
        app.add_exception_handler(kind, on_store_error)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these problem statuses."""
    return {status: {"model": ProblemBody, "description": TITLES.get(status, "Error"),
                     "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemBody"}}}}
            for status in statuses}
