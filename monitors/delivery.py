"""Deliver the outbox to each sink: every change it has not acknowledged, and re-posts.

A sink acknowledges a batch by answering it; only then is the batch marked delivered, in the
outbox's own table. A sink that fails is left alone for a while (doubling up to a cap) and then
sent everything still pending — the same alerts with the same labels and start times, so
nothing is lost and nothing becomes two alerts.

A pass reads only what is due for each sink: one range of the outbox's `next_post_us` index
(changes not yet heard, and firing alerts whose re-post interval has passed). The first delivery
of a process and every full pass compare every outbox row instead, which heals whatever the due
marks could have missed (a sink added to the settings, a row written by another worker).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from monitors.alertmanager import SinkUnavailable
from monitors.outbox import alerts, deliveries, lazy_commit
from projections.tables import to_us

log = logging.getLogger("sixhours.monitors")

BATCH = 500
Row = dict[str, Any]  # an outbox row with what this sink acknowledged of it
MAX_BACKOFF_SECONDS = 30.0


class Sink(Protocol):
    name: str
    repost_seconds: float | None  # None: only changes are sent

    def send(self, rows: Sequence[dict[str, Any]], now: datetime) -> None: ...


@dataclass
class Backoff:
    first: float
    failures: int = 0
    retry_at: float = 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self.retry_at

    def failed(self) -> None:
        self.failures += 1
        wait = min(self.first * 2 ** (self.failures - 1), MAX_BACKOFF_SECONDS)
        self.retry_at = time.monotonic() + wait

    def succeeded(self) -> None:
        self.failures, self.retry_at = 0, 0.0


@dataclass
class Delivery:
    engine: Engine
    sinks: Sequence[Sink]
    policy: str
    first_backoff: float = 2.0
    backoffs: dict[str, Backoff] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)  # sinks whose outbox rows were all compared

    @property
    def sink_names(self) -> list[str]:
        return [sink.name for sink in self.sinks]

    def run(self, now: datetime, full: bool = False) -> dict[str, int]:
        """Send what each sink still needs; return how many alerts each one took."""
        with self.engine.connect() as conn:
            owed = self.owed(conn, now, full)
        return self.send(owed, now)

    def owed(self, conn: Connection, now: datetime, full: bool = False) -> dict[str, list[Row]]:
        """What each sink that is not backing off needs now, read on the caller's connection
        (a pass reads it in the transaction that reconciled the outbox). Normally that is the
        sink's due range; the first time for a sink in this process, and with `full`, every
        outbox row is compared instead, which heals a sink that is new to the outbox or rows
        another writer left behind."""
        now_us = to_us(now)
        found: dict[str, list[Row]] = {}
        for sink in self.sinks:
            backoff = self.backoffs.setdefault(sink.name, Backoff(self.first_backoff))
            if backoff.ready():
                read = pending if full or sink.name not in self.checked else due
                found[sink.name] = read(conn, sink, self.policy, now_us)
        return found

    def send(self, owed: dict[str, list[Row]], now: datetime) -> dict[str, int]:
        """Send each sink what `owed` says it needs, and record what it took."""
        sent: dict[str, int] = {}
        for sink in self.sinks:
            if sink.name not in owed:
                continue
            backoff = self.backoffs[sink.name]
            try:
                sent[sink.name] = self._deliver(sink, owed[sink.name], now)
                self.checked.add(sink.name)
                backoff.succeeded()
            except SinkUnavailable as error:
                backoff.failed()
                log.warning("alerts: %s is unavailable (%s); %d failed tries, will retry",
                            sink.name, error, backoff.failures)
        return sent

    def _deliver(self, sink: Sink, rows: list[Row], now: datetime) -> int:
        now_us = to_us(now)
        # An alert that fired and was resolved before this sink heard of it needs no news.
        unheard = [r for r in rows if r["sent_version"] is None and r["ends_at_us"] is not None]
        if unheard:
            self._acknowledge(sink, unheard, now_us)
        news = [r for r in rows if not (r["sent_version"] is None and r["ends_at_us"] is not None)]
        for start in range(0, len(news), BATCH):
            chunk = news[start:start + BATCH]
            sink.send(chunk, now)
            self._acknowledge(sink, chunk, now_us)
        return len(news)

    def _acknowledge(self, sink: Sink, rows: Sequence[dict[str, Any]], now_us: int) -> None:
        every = None if sink.repost_seconds is None else int(sink.repost_seconds * 1_000_000)
        values = [{"sink": sink.name, "fingerprint": r["fingerprint"], "policy": self.policy,
                   "version": r["version"], "sent_at_us": now_us,
                   "next_post_us": now_us + every if every is not None and r["ends_at_us"] is None
                   else None} for r in rows]
        with self.engine.begin() as conn:
            lazy_commit(conn)  # a lost acknowledgement only means the same alerts posted again
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(deliveries)
            conn.execute(statement.on_conflict_do_update(
                index_elements=[deliveries.c.sink, deliveries.c.fingerprint],
                set_={"version": statement.excluded.version,
                      "sent_at_us": statement.excluded.sent_at_us,
                      "next_post_us": statement.excluded.next_post_us}), values)


_COLUMNS = (alerts.c.fingerprint, alerts.c.labels, alerts.c.annotations, alerts.c.starts_at_us,
            alerts.c.ends_at_us, alerts.c.version, alerts.c.changed_at_us,
            deliveries.c.version.label("sent_version"))


def _rows(conn: Connection, query: Any) -> list[Row]:
    found = [{**row, "labels": json.loads(row["labels"]),
              "annotations": json.loads(row["annotations"])}
             for row in conn.execute(query).mappings()]
    found.sort(key=lambda r: (r["changed_at_us"], r["fingerprint"]))  # older news first
    return found


def due(conn: Connection, sink: Sink, policy: str, now_us: int) -> list[Row]:
    """The outbox rows due for this sink now: one range of its `next_post_us` index."""
    d = deliveries
    query = (select(*_COLUMNS).select_from(d.join(alerts, alerts.c.fingerprint == d.c.fingerprint))
             .where(d.c.policy == policy, d.c.sink == sink.name, d.c.next_post_us <= now_us))
    return _rows(conn, query)


def pending(conn: Connection, sink: Sink, policy: str, now_us: int) -> list[Row]:
    """Every outbox row this sink has not acknowledged at its version, and firing ones due for
    a re-post by their last sending, whatever `next_post_us` says (the healing read)."""
    d = deliveries
    joined = alerts.outerjoin(d, and_(d.c.sink == sink.name, d.c.fingerprint == alerts.c.fingerprint))
    needs = [d.c.version.is_(None), d.c.version < alerts.c.version]
    if sink.repost_seconds is not None:
        before = now_us - int(sink.repost_seconds * 1_000_000)
        needs.append(and_(alerts.c.ends_at_us.is_(None),
                          or_(d.c.sent_at_us <= before, d.c.next_post_us <= now_us)))
    else:
        needs.append(d.c.next_post_us <= now_us)
    query = select(*_COLUMNS).select_from(joined).where(alerts.c.policy == policy, or_(*needs))
    return _rows(conn, query)
