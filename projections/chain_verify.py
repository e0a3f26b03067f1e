"""Check the hash chain against the event store: every stored event's bytes, every link, anchors.

Reads the stored events and the chain rows by notification-id range through the driver's own
cursor, hashes the stored bytes as they are (no decoding: that is what makes it fast and exact)
and compares. After a mismatch the scan goes on from the link as it should be, so one altered
row is named once instead of breaking every later link; findings are sorted by notification id, so the
first one is the first altered event in store order. Large stores are checked in parts by
separate processes: each part starts from the stored link before it, which the part before it
checks as its last row.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, select

from projections.chain_findings import (
    Finding,
    case_chain_findings,
    head_findings,
    name_events,
)
from projections.hash_chain import (
    GENESIS,
    NAME,
    anchors,
    chain,
    event_digest,
)
from projections.runner import position_of

BATCH = 50_000
KEEP = 100  # findings kept in full; the rest are counted
PARALLEL_FROM = 200_000  # events: below this, starting processes costs more than it saves


@dataclass(frozen=True)
class EventLog:
    """Where the event store keeps its events, for raw reads."""

    table: str
    id_column: str  # the notification id: `rowid` on SQLite, `notification_id` on PostgreSQL


@dataclass
class Verification:
    events: int = 0
    through: int = 0  # the last chained notification id checked
    head: bytes = GENESIS
    unchained: int = 0  # stored after the chain's position: not covered yet
    anchors_checked: int = 0
    parts: int = 1
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        shown = sorted(self.findings, key=lambda f: (f.notification_id, f.kind))
        return {"ok": self.ok, "events": self.events, "through_notification": self.through,
                "chain_head": self.head.hex() if self.through else None,
                "unchained": self.unchained, "anchors_checked": self.anchors_checked,
                "parts": self.parts, "seconds": round(self.seconds, 3),
                "events_per_s": round(self.events / self.seconds) if self.seconds else None,
                "first": shown[0].as_json() if shown else None,
                "findings": [f.as_json() for f in shown[:KEEP]],
                "more_findings": max(len(shown) - KEEP, 0)}


@dataclass
class _Part:
    """What one part of the scan found; `firsts` are the rows whose case chain continues from a
    row before the part (checked afterwards, in one query)."""

    events: int = 0
    last_link: bytes = GENESIS
    anchors_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    firsts: list[tuple[int, str, int, bytes, bytes]] = field(default_factory=list)
    latest: dict[str, tuple[bytes, int, int]] = field(default_factory=dict)  # case: link, version, id


def verify_chain(engine: Engine, log: EventLog, *, url: str | None = None, workers: int = 1,
                 parallel_from: int = PARALLEL_FROM, batch: int = BATCH) -> Verification:
    """Check every chained event, link and anchor; count the events not chained yet.

    With a database `url` and more than one worker, a large store is checked in parts by
    separate processes."""
    started = time.perf_counter()
    with engine.connect() as conn:
        position = position_of(conn, NAME)
        anchored = {int(n): bytes(link) for n, link in conn.execute(
            select(anchors.c.notification_id, anchors.c.link))}
    cuts = _cuts(position, workers if url and position >= parallel_from else 1)
    jobs = [(log, after, upto, anchored, batch) for after, upto in zip(cuts, cuts[1:], strict=False)]
    if url is None or len(jobs) == 1:
        parts = [_verify_part(engine, *job) for job in jobs]
    else:
        with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(_verify_part_at, [url] * len(jobs), *zip(*jobs, strict=True)))
    result = Verification(through=position, parts=len(jobs))
    latest: dict[str, tuple[bytes, int, int]] = {}
    for part in parts:
        latest.update(part.latest)  # parts in store order: a later part's link is the later one
        result.events += part.events
        result.anchors_checked += part.anchors_checked
        result.findings += part.findings
        if part.events:
            result.head = part.last_link
    with engine.connect() as conn:
        result.findings += case_chain_findings(conn, [f for p in parts for f in p.firsts])
        result.findings += head_findings(conn, latest)
        m = _mark(conn)
        result.unchained = int(conn.exec_driver_sql(
            f"SELECT count(*) FROM {log.table} WHERE {log.id_column} > {m}", (position,))
            .scalar() or 0)
        result.findings = name_events(conn, log, result.findings)
    for nid in sorted(n for n in anchored if n > position):
        result.findings.append(Finding(
            "anchor_mismatch", nid, None, None,
            f"an anchor names notification {nid}, past the chain's end {position}"))
    result.seconds = time.perf_counter() - started
    return result


def _cuts(position: int, parts: int) -> list[int]:
    return sorted({position * n // parts for n in range(parts + 1)})


def _mark(conn: Connection) -> str:
    return "%s" if conn.dialect.name == "postgresql" else "?"


def _verify_part_at(url: str, *job: Any) -> _Part:
    engine = create_engine(url)
    try:
        return _verify_part(engine, *job)
    finally:
        engine.dispose()


@contextmanager
def _cursor(engine: Engine) -> Iterator[tuple[Any, str]]:
    """The driver's own cursor: plain tuples, without a Row object per event."""
    raw = engine.raw_connection()
    try:
        yield raw.cursor(), "%s" if engine.dialect.name == "postgresql" else "?"
    finally:
        raw.close()


def _verify_part(engine: Engine, log: EventLog, after: int, upto: int,
                 anchored: dict[int, bytes], batch: int) -> _Part:
    part = _Part()
    events_sql = (f"SELECT {log.id_column}, originator_id, originator_version, topic, state "
                  f"FROM {log.table} WHERE {log.id_column} > {{m}} AND {log.id_column} <= {{m}} "
                  f"ORDER BY {log.id_column}")
    links_sql = (f"SELECT notification_id, case_id, version, digest, link, case_link "
                 f"FROM {chain.name} WHERE notification_id > {{m}} AND notification_id <= {{m}} "
                 "ORDER BY notification_id")
    with _cursor(engine) as (cur, m):
        cur.execute(f"SELECT link FROM {chain.name} WHERE notification_id <= {m} "
                    "ORDER BY notification_id DESC LIMIT 1", (after,))
        found = cur.fetchone()
        previous = bytes(found[0]) if found else GENESIS
        case_links = part.latest
        start = after
        while start < upto:
            end = min(start + batch, upto)
            cur.execute(events_sql.format(m=m), (start, end))
            events = cur.fetchall()
            cur.execute(links_sql.format(m=m), (start, end))
            previous = _check_range(events, cur.fetchall(), previous, case_links, anchored, part)
            start = end
    part.last_link = previous
    return part


def _check_range(events: list[Any], links: list[Any], previous: bytes,
                 case_links: dict[str, tuple[bytes, int, int]], anchored: dict[int, bytes],
                 part: _Part) -> bytes:
    add, firsts = part.findings.append, part.firsts.append
    for (nid, case_id, version, digest, link, own_link), event in _pairs(events, links, add):
        if event is None:
            add(Finding("event_deleted", nid, case_id, None, ""))
        else:
            _, originator, stored_version, topic, state = event
            try:
                stored = sha256(b"%s\x1f%d\x1f%s\x1f%s" % (
                    originator.encode(), stored_version, topic.encode(), state)).digest()
            except TypeError:
                # Edited with SQL string functions, SQLite hands the state back as text.
                stored = event_digest(originator, stored_version, topic,
                                      state.encode() if isinstance(state, str) else bytes(state))
            if stored != digest:
                kind = "event_altered" if (originator, stored_version) == (case_id, version) \
                    else "event_moved"
                add(Finding(kind, nid, case_id, None, f"now case {originator} "
                                                      f"version {stored_version}"))
        # Both chains go on from the link as it should be, so one altered row is named once
        # (a rewrite from some row on is named at that row and at every row after it).
        expected = sha256(previous + nid.to_bytes(8, "big") + digest).digest()
        if expected != link:
            add(Finding("chain_altered", nid, case_id, None, ""))
        previous = expected
        before = case_links.get(case_id)
        if before is None and version > 1:
            firsts((nid, case_id, version, digest, own_link))
            expected_own = own_link  # checked afterwards against the case's previous row
        else:
            expected_own = sha256((before[0] if before else GENESIS) + digest).digest()
            if expected_own != own_link:
                add(Finding("case_chain_altered", nid, case_id, None, ""))
        case_links[case_id] = (expected_own, version, nid)
        if nid in anchored:
            part.anchors_checked += 1
            if anchored[nid] != expected:
                add(Finding("anchor_mismatch", nid, case_id, None, ""))
    part.events += len(links)
    return previous


def _pairs(events: list[Any], links: list[Any], add: Any) -> Any:
    """Each chain row with the event stored under its notification id (None: gone); events
    stored under ids the chain does not have are findings. Usually the ids simply match."""
    if len(events) == len(links) and [e[0] for e in events] == [row[0] for row in links]:
        return zip(links, events, strict=True)
    pairs, i = [], 0
    for row in links:
        while i < len(events) and events[i][0] < row[0]:
            add(Finding("event_inserted", events[i][0], events[i][1], None, "", events[i][4]))
            i += 1
        if i < len(events) and events[i][0] == row[0]:
            pairs.append((row, events[i]))
            i += 1
        else:
            pairs.append((row, None))
    for event in events[i:]:
        add(Finding("event_inserted", event[0], event[1], None, "", event[4]))
    return pairs
