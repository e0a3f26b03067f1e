"""Open clocks of a subtree: what is running and what is overdue now, soonest due first."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api import problems
from api.auth import Action
from api.deps import ContextDep, CurrentUser, PageDep
from api.problems import Problem
from api.schemas import OpenClocksOut, iso
from projections.open_steps import open_clocks

router = APIRouter(tags=["clocks"])


@router.get("/clocks/open", response_model=OpenClocksOut,
            responses=problems.responses(401, 403, 422, 503))
def list_open_clocks(
    context: ContextDep, principal: CurrentUser, page: PageDep,
    state: Annotated[Literal["running", "overdue"] | None, Query(description="only these")] = None,
    service_point: Annotated[str | None, Query(
        pattern=r"^[A-Za-z0-9._-]{1,64}$", description="narrow to this point's subtree")] = None,
) -> dict[str, Any]:
    """Open clocks of the default policy now, from the read model (as fresh as its projection)."""
    principal.require(Action.open_clocks)
    points = principal.scope(context.network.subtree)
    if service_point is not None:
        if not context.network.get().is_known(service_point):
            raise Problem(422, "unknown_service_point", f"service point {service_point} does not "
                          "exist", service_point=service_point)
        wanted = context.network.subtree(service_point)
        if points is not None and service_point not in points:
            raise Problem(403, "service_point_out_of_scope", f"service point {service_point} is "
                          "outside this token's subtree", service_point=service_point)
        points = wanted
    now = context.clock()
    found, total = open_clocks(context.engine, context.queries.tables(), context.default_policy, now,
                               points, state=state,
                               limit=page.limit, offset=page.offset)
    return {"as_of": iso(now, context.tz), "policy": context.default_policy, "total": total,
            "limit": page.limit, "offset": page.offset,
            "clocks": [{"case_id": c.case_id, "clock": c.clock, "service_point": c.service_point,
                        "state": c.state, "started_at": iso(c.started_at, context.tz),
                        "due_at": iso(c.due_at, context.tz), "paused": c.paused} for c in found]}
