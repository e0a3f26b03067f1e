"""What the composition root hands the API: its parts, built elsewhere from settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy import Engine

from api.auth import KeyRing
from api.network_cache import NetworkCache
from domain.policy import Policy
from domain.service import CaseService
from projections.queries import ReportQueries


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 64 * 1024
    max_page_size: int = 500
    default_page_size: int = 100
    max_token_ttl_seconds: int = 90 * 24 * 3600


@dataclass
class ApiContext:
    service: CaseService
    engine: Engine  # the read models
    queries: ReportQueries
    policies: Mapping[str, Policy]
    default_policy: str
    tz: tzinfo
    keys: KeyRing
    clock: Callable[[], datetime]  # recorded_at of API writes; "now" for reads without as_of
    network: NetworkCache
    lang: str = "zh"
    limits: Limits = field(default_factory=Limits)
    # Figures and open clocks come from the read models, as fresh as whatever keeps them (the
    # in-process projection loop of `serve` on SQLite, the worker on PostgreSQL). Where the
    # root passes this, a network import brings the read model up to date first.
    refresh_read_model: Callable[[], None] | None = None
