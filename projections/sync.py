"""Bring the case read model up to date: build a pending version, switch to it, catch up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine

from projections.case_clocks import CaseProjection
from projections.read_models import NAME, plan, switch_to_building, versions
from projections.rebuild import BuildSource, Decode, ReadStreams, SplitStreams, build_by_stream
from projections.runner import CatchUp, NotificationSource, catch_up, position_of
from projections.tables import CaseTables

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Streams:
    """The event store read case by case (for builds), and how its stored state decodes."""

    read: ReadStreams
    split: SplitStreams
    decode: Decode
    # A fresh set of connections and projection for another build process, by table prefix;
    # picklable, since build processes are started fresh.
    open_elsewhere: Callable[[str], BuildSource]
    workers: int = 1
    parallel_from: int | None = None  # events: smaller builds run in this process


def sync_read_models(engine: Engine, source: NotificationSource, streams: Streams,
                     fingerprint: str, projection_for: Callable[[CaseTables], CaseProjection], *,
                     progress: Progress | None = None, rebuild: bool = False,
                     batch: int | None = None,
                     should_stop: Callable[[], bool] = lambda: False) -> CatchUp:
    head = source.max_notification_id() or 0
    state = plan(engine, fingerprint, rebuild=rebuild or _far_behind(engine, fingerprint, head))
    options: dict[str, Any] = {"should_stop": should_stop}
    if batch is not None:
        options["batch"] = batch
    if state.building is not None:
        building = projection_for(state.building)
        here = BuildSource(engine, building, streams.read, streams.split, streams.decode)
        prefix = state.building.prefix
        built = build_by_stream(partial(streams.open_elsewhere, prefix), here,
                                lambda: source.max_notification_id() or 0,
                                workers=streams.workers, parallel_from=streams.parallel_from,
                                progress=stage(progress, "rebuild"),
                                **options)
        if not built:
            return CatchUp(0, 0, 0.0)
        catch_up(engine, source, building, **options)
        target = source.max_notification_id() or 0

        def caught_up(conn: Connection, tables: CaseTables) -> bool:
            return position_of(conn, building.name, lock=True) >= target

        if should_stop():
            return CatchUp(0, 0, 0.0)
        if not switch_to_building(engine, caught_up):
            # New events arrived meanwhile: one more pass, then the switch waits for the next.
            catch_up(engine, source, building, **options)
            switch_to_building(engine, caught_up)
        state = plan(engine, fingerprint)
    assert state.active is not None
    return catch_up(engine, source, projection_for(state.active),
                    progress=stage(progress, "catch-up"), **options)


# A version this many events behind, and behind by at least this share of the store, is built
# anew beside the old one rather than caught up: re-evaluating each case as its events come costs
# about six times what building it once from its whole stream does (a first catch-up after a
# year's import took an hour on PostgreSQL this way).
BUILD_WHEN_BEHIND = 200_000
BUILD_WHEN_SHARE = 0.25


def _far_behind(engine: Engine, fingerprint: str, head: int) -> bool:
    state = versions(engine)
    if state.active is None or state.building is not None or (
            state.active_fingerprint != fingerprint):
        return False  # nothing to catch up yet, or a build is due anyway
    with engine.connect() as conn:
        behind = head - position_of(conn, f"{NAME}/{state.active.prefix}")
    return behind >= BUILD_WHEN_BEHIND and behind >= BUILD_WHEN_SHARE * head


def stage(progress: Progress | None, name: str) -> Callable[[int, int], None] | None:
    """A runner's (done, left) reports as one named stage of `progress`."""
    if progress is None:
        return None
    return lambda done, left: progress(name, done, done + left)
