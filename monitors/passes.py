"""One monitor pass: find what changed, reconcile the outbox, deliver to the sinks.

Runs every few seconds in the worker (an APScheduler job), only in the worker that holds the
leader lock. A steady pass looks only at the cases that may have changed since the last one:
those with a clock that crossed a threshold by the clock (a few narrow ranges of the due-time
index) and those whose events the projection applied meanwhile (from the event log), and
re-evaluates just them — so its cost follows what happens, not how many clocks are open. Now
and then (and after a restart or a read-model switch) a full pass re-reads every clock in
warning or overdue, which also heals anything a steady pass could have missed. Every decision is
a function of the read model and "now", so a repeated or interrupted pass decides the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import Connection, Engine, func, select

from domain.network import Network
from domain.policy import Policy
from monitors.alerts import desired_alerts
from monitors.delivery import Delivery, Sink
from monitors.leader import Leader
from monitors.outbox import (
    Changes,
    MonitorState,
    lazy_commit,
    load_state,
    reconcile,
    save_state,
)
from monitors.outbox import metadata as outbox_metadata
from projections.due_clocks import crossed_cases, due_clocks, lead_us, open_clocks_of
from projections.tables import CaseTables, network_imports, positions, to_us

log = logging.getLogger("sixhours.monitors")


FULL_EVERY_SECONDS = 900.0
ChangedCases = Callable[[int, int], set[str]]  # case ids of the events in (after, upto]


@dataclass(frozen=True)
class PassReport:
    leader: bool
    full: bool = False
    read: int = 0  # open clocks looked at
    changes: Changes | None = None
    sent: dict[str, int] | None = None


class NetworkByImport:
    """The network, loaded again only after a network import (one indexed lookup per pass)."""

    def __init__(self, load: Callable[[], Network]) -> None:
        self.load = load
        self.seen: int | None = -1
        self.network = Network()

    @staticmethod
    def latest(conn: Connection) -> int | None:
        found = conn.execute(select(func.max(network_imports.c.id))).scalar()
        return None if found is None else int(found)

    def get(self, latest: int | None) -> Network:
        """The network as of import `latest` (loaded outside the caller's transaction: on
        SQLite, loading takes a connection of its own, which would wait for that one)."""
        if latest != self.seen:
            self.network, self.seen = self.load(), latest
        return self.network


def projected_position(conn: Connection, tables: CaseTables) -> int:
    """How far in the event log the active read-model version has got."""
    found = conn.execute(select(positions.c.position).where(
        positions.c.name == f"cases/{tables.prefix}")).scalar()
    return int(found or 0)


class AlertMonitor:
    def __init__(self, engine: Engine, reader: Engine, tables: Callable[[], CaseTables | None],
                 network: Callable[[], Network], policy: Policy, tz: tzinfo,
                 sinks: Sequence[Sink], leader: Leader, clock: Callable[[], datetime],
                 changed_cases: ChangedCases, full_every_seconds: float = FULL_EVERY_SECONDS,
                 ) -> None:
        self.engine = engine  # writes the outbox
        self.reader = reader  # reads the read model without taking a write lock (SQLite)
        self.tables = tables
        self.network = NetworkByImport(network)
        self.policy = policy
        self.tz = tz
        self.leader = leader
        self.clock = clock
        self.lead_us = lead_us(policy)
        self.changed_cases = changed_cases
        self.full_every_us = int(full_every_seconds * 1_000_000)
        self.delivery = Delivery(engine, sinks, policy.name)
        outbox_metadata.create_all(engine)

    def run_pass(self) -> PassReport:
        if not self.leader.held():
            return PassReport(leader=False)
        tables = self.tables()
        now = self.clock()
        if tables is None:  # no read model yet: nothing is due, and nothing is resolved
            return PassReport(True, sent=self.delivery.run(now))
        now_us = to_us(now)
        # One connection for every read of the pass (each checkout costs a round trip).
        with self.reader.connect() as conn:
            state = load_state(conn, self.policy.name)
            network_import = self.network.latest(conn)
            # The position first: rows read after it reflect at least the events up to it.
            position = projected_position(conn, tables)
            full = (state is None or state.tables != tables.prefix or state.evaluated_us > now_us
                    or now_us - state.full_us >= self.full_every_us)
            scope: set[str] | None = None
            if full:
                clocks = due_clocks(conn, tables, self.policy.name, now_us + self.lead_us)
            else:
                assert state is not None
                scope = crossed_cases(conn, tables, self.policy, state.evaluated_us, now_us)
                if position > state.position:
                    scope |= self.changed_cases(state.position, position)
                clocks = open_clocks_of(conn, tables, self.policy.name, scope)
        network = self.network.get(network_import)
        wanted = desired_alerts(clocks, self.policy, network, self.tz, now_us)
        with self.engine.begin() as conn:
            lazy_commit(conn)
            changes = reconcile(conn, self.policy.name, wanted, now_us, scope,
                                self.delivery.sink_names)
            save_state(conn, self.policy.name, MonitorState(
                tables.prefix, position, now_us, now_us if full or state is None else state.full_us))
            owed = self.delivery.owed(conn, now, full)  # read here: no connection of its own
        if changes.fired or changes.resolved:
            log.info("alerts: %d fired, %d resolved", changes.fired, changes.resolved)
        # Sent once the changes are committed, never from inside the transaction.
        return PassReport(True, full, len(clocks), changes, self.delivery.send(owed, now))

    def safe_pass(self) -> PassReport | None:
        """A pass for the scheduler: a failure is logged and the next pass tries again."""
        try:
            return self.run_pass()
        except Exception as error:  # noqa: BLE001 - the worker outlives database outages
            log.warning("monitor pass failed, retrying at the next one: %s", error)
            return None

    def close(self) -> None:
        self.leader.release()
