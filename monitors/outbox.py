"""The durable alert outbox: which alerts fire, which were resolved, and what each sink has heard.

A monitor pass reconciles the alerts that should fire now with the stored ones in one
transaction: new ones are added, vanished ones get an end time (the step was recorded, the case
withdrawn, or a warning became overdue), and each change bumps the alert's version. Delivery
then sends every change a sink has not acknowledged yet, so an Alertmanager outage delays alerts
but loses none, and since an alert keeps its labels and start time, sending it again after an
outage updates the same alert instead of making a second one.

Each sink's row of an alert says when the alert must next be posted to it (`next_post_us`, indexed):
at once after a change it has not heard (the reconciling transaction sets it), then every re-post
interval while the alert fires, and never once it has heard the end. A pass thus reads one index
range per sink — what is due — instead of every firing alert.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from monitors.alerts import Alert

metadata = MetaData()

alerts = Table(
    "sixhours_alerts", metadata,
    Column("fingerprint", String(32), primary_key=True),  # of the labels: same labels, same alert
    Column("policy", String(64), nullable=False),
    Column("case_id", String(64), nullable=False),
    Column("clock", String(16), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("labels", Text, nullable=False),  # JSON
    Column("annotations", Text, nullable=False),  # JSON
    Column("starts_at_us", BigInteger, nullable=False),
    Column("ends_at_us", BigInteger),  # null while firing
    Column("version", Integer, nullable=False),  # bumped by every change the sinks must hear of
    Column("changed_at_us", BigInteger, nullable=False),
)
Index("sixhours_alerts_by_end", alerts.c.policy, alerts.c.ends_at_us)
Index("sixhours_alerts_by_case", alerts.c.policy, alerts.c.case_id)

# Where the monitor's last pass left off, per policy: the read-model version it read, the event
# log position its projection had reached, and the time it evaluated at. Saved in the same
# transaction as the alerts it decided, so a crash repeats a pass instead of skipping one.
monitor_state = Table(
    "sixhours_monitor_state", metadata,
    Column("policy", String(64), primary_key=True),
    Column("tables", String(16), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("evaluated_us", BigInteger, nullable=False),
    Column("full_us", BigInteger, nullable=False),  # the last full reconciliation
)

deliveries = Table(
    "sixhours_alert_deliveries", metadata,
    Column("sink", String(32), primary_key=True),
    Column("fingerprint", String(32), primary_key=True),
    Column("policy", String(64), nullable=False),
    Column("version", Integer),  # the alert's version this sink acknowledged; null: none yet
    Column("sent_at_us", BigInteger),
    # When the alert must next be posted to this sink: 0 (now) after a change it has not heard,
    # sent + re-post interval while it fires, null when nothing more is owed.
    Column("next_post_us", BigInteger),
)
Index("sixhours_alert_deliveries_due", deliveries.c.policy, deliveries.c.sink,
      deliveries.c.next_post_us)

RESOLVED_KEPT_US = 24 * 3600 * 1_000_000  # resolved alerts are kept a day, then purged


@dataclass(frozen=True)
class Changes:
    fired: int
    resolved: int


@dataclass(frozen=True)
class MonitorState:
    tables: str
    position: int
    evaluated_us: int
    full_us: int


def lazy_commit(conn: Connection) -> None:
    """On PostgreSQL, let this transaction's commit return before its WAL reaches the disk.

    Everything in the outbox is derived: from the read model and the time (the alerts and the
    monitor's state, saved together) and from what a sink answered (acknowledgements). A server
    crash may lose the last such commits (never half of one); the next pass then decides the
    same again and posts the same alerts again, which a sink takes as the same alerts. Waiting
    for the disk instead made a pass wait for other writers' flushes (hundreds of milliseconds
    on a busy disk, measured)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")


def load_state(conn: Connection, policy: str) -> MonitorState | None:
    row = conn.execute(select(monitor_state).where(monitor_state.c.policy == policy)).first()
    return None if row is None else MonitorState(row.tables, row.position, row.evaluated_us,
                                                 row.full_us)


def save_state(conn: Connection, policy: str, state: MonitorState) -> None:
    values = {"tables": state.tables, "position": state.position,
              "evaluated_us": state.evaluated_us, "full_us": state.full_us}
    if conn.execute(update(monitor_state).where(monitor_state.c.policy == policy)
                    .values(**values)).rowcount == 0:
        conn.execute(insert(monitor_state).values(policy=policy, **values))


def firing_count(conn: Connection, policy: str) -> int:
    return int(conn.execute(select(func.count()).select_from(alerts).where(
        alerts.c.policy == policy, alerts.c.ends_at_us.is_(None))).scalar() or 0)


def reconcile(conn: Connection, policy: str, wanted: Mapping[str, Alert], now_us: int,
              cases: Collection[str] | None = None, sinks: Sequence[str] = ()) -> Changes:
    """Make the stored alerts of `policy` those in `wanted`: add, re-open or resolve, and mark
    each change due now for each of `sinks`. With `cases`, only those cases' alerts are
    considered (`wanted` holds all of theirs)."""
    kept_after = now_us - RESOLVED_KEPT_US
    recent = alerts.c.ends_at_us.is_(None) | (alerts.c.ends_at_us > kept_after)
    query = select(alerts.c.fingerprint, alerts.c.ends_at_us, alerts.c.annotations)
    stored = {}
    if cases is None:
        stored = {row.fingerprint: row for row in conn.execute(
            query.where(alerts.c.policy == policy, recent))}
    else:
        ids = sorted(cases)
        for start in range(0, len(ids), 500):
            # By case only, and "recent" checked here: given it in SQL, PostgreSQL without
            # statistics on this table walked the end-time index over every firing alert.
            stored.update((row.fingerprint, row) for row in conn.execute(query.where(
                alerts.c.policy == policy, alerts.c.case_id.in_(ids[start:start + 500])))
                if row.ends_at_us is None or row.ends_at_us > kept_after)
    fired = resolved = 0
    new_rows = []
    changed: list[str] = []
    for fp, alert in wanted.items():
        row = stored.get(fp)
        annotations = _json(alert.annotations)
        if row is None:
            new_rows.append({"fingerprint": fp, "policy": policy, "case_id": alert.case_id,
                             "clock": alert.clock, "severity": alert.severity,
                             "labels": _json(alert.labels), "annotations": annotations,
                             "starts_at_us": alert.starts_at_us, "ends_at_us": None,
                             "version": 1, "changed_at_us": now_us})
            changed.append(fp)
            fired += 1
        elif row.ends_at_us is not None:  # resolved, and due again (e.g. a correction)
            conn.execute(update(alerts).where(alerts.c.fingerprint == fp).values(
                ends_at_us=None, starts_at_us=alert.starts_at_us, annotations=annotations,
                version=alerts.c.version + 1, changed_at_us=now_us))
            changed.append(fp)
            fired += 1
        elif row.annotations != annotations:
            # Not a change worth a notification: the next re-post carries the new text.
            conn.execute(update(alerts).where(alerts.c.fingerprint == fp).values(
                annotations=annotations))
    if new_rows:
        conn.execute(insert(alerts), new_rows)
    gone = [fp for fp, row in stored.items() if row.ends_at_us is None and fp not in wanted]
    for start in range(0, len(gone), 500):
        conn.execute(update(alerts).where(alerts.c.fingerprint.in_(gone[start:start + 500]))
                     .values(ends_at_us=now_us, version=alerts.c.version + 1,
                             changed_at_us=now_us))
    resolved = len(gone)
    _owe(conn, policy, sinks, changed + gone)
    if cases is None:
        _purge(conn, policy, now_us)
    return Changes(fired, resolved)


def _owe(conn: Connection, policy: str, sinks: Sequence[str], fingerprints: Sequence[str]) -> None:
    """Mark these alerts due now for each sink, in the transaction that changed them: a crash
    after it still leaves the news owed, and delivery finds it in the due range."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for sink in sinks:
        for start in range(0, len(fingerprints), 500):
            statement = dialect.insert(deliveries)
            conn.execute(statement.on_conflict_do_update(
                index_elements=[deliveries.c.sink, deliveries.c.fingerprint],
                set_={"next_post_us": 0}),
                [{"sink": sink, "fingerprint": fp, "policy": policy, "version": None,
                  "sent_at_us": None, "next_post_us": 0}
                 for fp in fingerprints[start:start + 500]])


def _purge(conn: Connection, policy: str, now_us: int) -> None:
    old = select(alerts.c.fingerprint).where(
        alerts.c.policy == policy, alerts.c.ends_at_us < now_us - RESOLVED_KEPT_US)
    conn.execute(delete(deliveries).where(deliveries.c.fingerprint.in_(old)))
    conn.execute(delete(alerts).where(alerts.c.fingerprint.in_(old)))


def firing(conn: Connection, policy: str) -> list[dict[str, Any]]:
    """The alerts firing now (labels and annotations), for the API and tests."""
    rows = conn.execute(select(alerts.c.labels, alerts.c.annotations, alerts.c.starts_at_us)
                        .where(alerts.c.policy == policy, alerts.c.ends_at_us.is_(None)))
    return [{"labels": json.loads(labels), "annotations": json.loads(annotations),
             "starts_at_us": starts} for labels, annotations, starts in rows]


def _json(value: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(value.items())), ensure_ascii=False, separators=(",", ":"))
