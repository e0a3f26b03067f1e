"""FastAPI dependencies as Annotated aliases: the context, the caller, the language."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from api.auth import Principal, bearer_token
from api.context import ApiContext
from api.writer import GroupCommitWriter


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


def get_writer(request: Request) -> GroupCommitWriter:
    writer: GroupCommitWriter = request.app.state.writer
    return writer


ContextDep = Annotated[ApiContext, Depends(get_context)]
WriterDep = Annotated[GroupCommitWriter, Depends(get_writer)]


def current_principal(request: Request, context: ContextDep,
                      authorization: Annotated[str | None, Header()] = None) -> Principal:
    principal = context.keys.verify(bearer_token(authorization))
    request.scope["sixhours.principal"] = principal  # for the access log
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def language(context: ContextDep,
             accept_language: Annotated[str | None, Header()] = None) -> str:
    """Messages in Chinese by default; `Accept-Language: en` for English."""
    if accept_language:
        first = accept_language.split(",")[0].strip().lower()
        if first.startswith("en"):
            return "en"
        if first.startswith("zh"):
            return "zh"
    return context.lang


Lang = Annotated[str, Depends(language)]


class Page:
    def __init__(self, limit: int, offset: int) -> None:
        self.limit = limit
        self.offset = offset


def page(context: ContextDep,
         limit: Annotated[int | None, Query(ge=1, le=1000, description="page size")] = None,
         offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
         ) -> Page:
    chosen = min(limit or context.limits.default_page_size, context.limits.max_page_size)
    return Page(chosen, offset)


PageDep = Annotated[Page, Depends(page)]
