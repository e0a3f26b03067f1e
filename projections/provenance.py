"""Where a figure came from: the events (as a hash of their range), the policy, the code.

An auditor who holds the same events (checked against the chain head), the same policy version
and the same code gets the same figures, so a report names all three.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

import domain
from domain.policy import Policy
from projections import hash_chain
from projections.case_clocks import CODE_VERSION
from projections.runner import position_of


@lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """The package version and a digest of the source that computes figures (domain and
    projections), so that two deployments of one version number still tell apart."""
    try:
        version = metadata.version("sixhours")
    except metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for package in (Path(domain.__file__).resolve().parent, here):
        for path in sorted(package.rglob("*.py")):
            digest.update(path.relative_to(package.parent).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return {"version": version, "read_model": CODE_VERSION, "source_sha256": digest.hexdigest()}


def policy_name(policy: Policy) -> str:
    return f"{policy.name}@{policy.version}"


def events_range(conn: Connection, projection: str) -> dict[str, Any]:
    """The events a read model has seen: through which notification, and the chain's head there
    (None while the chain has not reached it: `sixhours audit chain`)."""
    through = position_of(conn, projection)
    chained = position_of(conn, hash_chain.NAME)
    head = None
    if through and chained >= through:
        found = hash_chain.head_at(conn, through)
        head = found.link.hex() if found.through else None
    return {"through_notification": through, "chain_head": head, "chained_through": chained}


def report_provenance(conn: Connection, projection: str, policy: Policy,
                      figures_from: str) -> dict[str, Any]:
    return {"policy": policy_name(policy), "policy_version": policy.version,
            "figures_from": figures_from, "events": events_range(conn, projection),
            "code": code_version()}
