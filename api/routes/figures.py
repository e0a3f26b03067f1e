"""The SPEC §5 figures, with `report`'s filters and groupings; a supervisor sees its subtree.

Figures come from the read models, as fresh as the projection that keeps them (the in-process
loop of `sixhours serve` on SQLite, the worker on PostgreSQL): a step recorded a moment ago may
not be counted yet.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api import problems
from api.auth import Action
from api.deps import ContextDep, CurrentUser
from api.problems import Problem
from projections.queries import ReportRequest

router = APIRouter(tags=["figures"])

Grouping = Literal["country", "province", "city", "county", "township", "village", "group",
                   "channel", "category"]


@router.get("/figures", responses=problems.responses(401, 403, 422, 503))
def figures(context: ContextDep, principal: CurrentUser,
            date_from: Annotated[date | None, Query(alias="from", description="first local date")] = None,
            date_to: Annotated[date | None, Query(alias="to", description="last local date")] = None,
            by: Annotated[Grouping | None, Query(description="rows by level or dimension")] = None,
            policy: Annotated[str | None, Query(description="six-hours (default), statutory")] = None,
            as_of: Annotated[datetime | None, Query(description="evaluation time; default now")] = None,
            ) -> dict[str, Any]:
    """Clock rates, six-hours rate, satisfaction, volume and open clocks (SPEC §5/§6 JSON)."""
    principal.require(Action.figures)
    if as_of is not None and as_of.utcoffset() is None:
        raise Problem(422, "naive_time", "as_of needs a UTC offset, e.g. +08:00", parameter="as_of")
    name = policy or context.default_policy
    if name not in context.policies:
        raise Problem(422, "unknown_policy",
                      f"unknown policy {name}; known: {', '.join(context.policies)}")
    request = ReportRequest(policy=name, as_of=as_of or context.clock(), date_from=date_from,
                            date_to=date_to, by=by)
    scope = principal.scope(context.network.subtree)
    try:
        if scope is None:
            body = context.queries.report(request)
        else:
            body = context.queries.report(replace(request, points=frozenset(scope)))
            body["scope"] = principal.service_point
    except ValueError as error:
        raise Problem(422, "invalid_period", str(error)) from None
    return body
