"""FastAPI dependencies as Annotated aliases: the context, the caller, the language.

They are `async def` although none of them awaits: FastAPI runs a plain `def` dependency in its
thread pool, and four thread hand-offs per request cost more than everything they do.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request

from api.auth import Principal, bearer_token
from api.context import ApiContext
from api.writer import GroupCommitWriter


async def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


async def get_writer(request: Request) -> GroupCommitWriter:
    writer: GroupCommitWriter = request.app.state.writer
    return writer


ContextDep = Annotated[ApiContext, Depends(get_context)]
WriterDep = Annotated[GroupCommitWriter, Depends(get_writer)]


def authenticate(scope: MutableMapping[str, Any], context: ApiContext,
                 authorization: str | None) -> Principal:
    """The caller of this request, from its bearer token (401 without a valid one)."""
    principal = context.keys.verify(bearer_token(authorization))
    scope["sixhours.principal"] = principal  # for the access log
    return principal


def preferred_language(accept_language: str | None, default: str) -> str:
    """Messages in Chinese by default; `Accept-Language: en` for English."""
    if accept_language:
        first = accept_language.split(",")[0].strip().lower()
        if first.startswith("en"):
            return "en"
        if first.startswith("zh"):
            return "zh"
    return default


async def current_principal(request: Request, context: ContextDep,
                            authorization: Annotated[str | None, Header()] = None) -> Principal:
    return authenticate(request.scope, context, authorization)


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def language(context: ContextDep,
                   accept_language: Annotated[str | None, Header()] = None) -> str:
    """Messages in Chinese by default; `Accept-Language: en` for English."""
    return preferred_language(accept_language, context.lang)


Lang = Annotated[str, Depends(language)]


class Page:
    def __init__(self, limit: int, offset: int) -> None:
        self.limit = limit
        self.offset = offset


async def page(context: ContextDep,
               limit: Annotated[int | None, Query(ge=1, le=1000, description="page size")] = None,
               offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
               ) -> Page:
    chosen = min(limit or context.limits.default_page_size, context.limits.max_page_size)
    return Page(chosen, offset)


PageDep = Annotated[Page, Depends(page)]

# The two headers as OpenAPI documents them for a route that declares `CurrentUser` and `Lang`,
# for the one route that reads them itself (`POST /steps`, the hot path: see api/routes/steps.py).
HEADER_PARAMETERS: list[dict[str, Any]] = [
    {"in": "header", "name": name, "required": False,
     "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title}}
    for name, title in (("authorization", "Authorization"), ("accept-language", "Accept-Language"))]
