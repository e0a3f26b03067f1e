"""Administration: the service network, and bearer tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body

from api import problems
from api.auth import Action, Principal, Role, check_claims
from api.deps import ContextDep, CurrentUser
from api.problems import Problem
from api.schemas import NetworkImportOut, TokenIn, TokenOut
from domain.network import NetworkError, parse_points, update_network
from projections.network_store import points_used_by_events, save_network

router = APIRouter(tags=["admin"])

NETWORK_EXAMPLE = [
    {"id": "bs", "name": "保山市法律援助中心", "level": "city", "parent": None, "area": "urban",
     "kind": "centre", "supervisors": [{"id": "sup-bs-01", "name": "王局长"}]},
    {"id": "ly", "name": "隆阳区法律援助中心", "level": "county", "parent": "bs", "area": "urban",
     "kind": "centre"},
]


@router.put("/network", response_model=NetworkImportOut,
            responses=problems.responses(401, 403, 413, 422, 503))
def import_network(context: ContextDep, principal: CurrentUser,
                   points: list[dict[str, Any]] = Body(examples=[NETWORK_EXAMPLE]),  # noqa: B008
                   ) -> dict[str, Any]:
    """Load or update the service network (SPEC §2): the same list as a network YAML file."""
    principal.require(Action.network)
    try:
        parsed = parse_points(points)
        if context.refresh_read_model is not None:
            context.refresh_read_model()  # points in use come from the read model
        updated, changes = update_network(context.network.get(), parsed,
                                          points_used_by_events(context.engine))
    except NetworkError as error:
        raise Problem(422, "invalid_network", str(error)) from None
    save_network(context.engine, list(updated.points.values()), changes)
    context.network.invalidate()
    return {"points": len(updated.points), **{k: len(v) for k, v in changes.items()}}


@router.post("/tokens", response_model=TokenOut, status_code=201,
             responses=problems.responses(401, 403, 422))
def issue_token(context: ContextDep, principal: CurrentUser, wanted: TokenIn) -> dict[str, Any]:
    """Issue a bearer token for a member of staff (admin only)."""
    principal.require(Action.tokens)
    if wanted.ttl_seconds > context.limits.max_token_ttl_seconds:
        raise Problem(422, "token_ttl_too_long", f"a token lives at most "
                      f"{context.limits.max_token_ttl_seconds} seconds")
    try:
        grantee = Principal(subject=wanted.subject, role=Role(wanted.role),
                            service_point=wanted.service_point, pii=wanted.pii)
        check_claims(grantee)
    except ValueError as error:
        raise Problem(422, "invalid_token_request", str(error)) from None
    if grantee.service_point is not None and not context.network.get().is_known(grantee.service_point):
        raise Problem(422, "unknown_service_point",
                      f"service point {grantee.service_point} does not exist")
    issued = int(context.clock().timestamp())
    token = context.keys.issue(grantee, wanted.ttl_seconds, now=issued)
    return {"token": token, "key_id": context.keys.signing_key_id,
            "expires_at": datetime.fromtimestamp(issued + wanted.ttl_seconds, UTC)
            .astimezone(context.tz).isoformat()}
