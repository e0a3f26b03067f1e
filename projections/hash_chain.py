"""Tamper evidence: a hash chain over the store's order and over each case's events.

A projection follows the notification log and, for every stored event, records the SHA-256 of
its stored bytes (case id, version, topic and the state exactly as stored — never decoded and
re-encoded, so the digest does not depend on how a reader parses JSON), a link of the store-wide
chain (previous link, notification id, digest) and a link of the case's own chain (previous
link of that case, digest). Rows and the projection's position move in one transaction
(`projections.runner.catch_up`), in tables of their own.

Ciphertext is hashed as stored: destroying a case's personal-data key (erasure) leaves every
digest valid, because no stored event changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)

from projections.runner import CatchUp, catch_up, position_of

NAME = "audit/hash_chain"
GENESIS = bytes(32)  # the link before the first event, of the store and of every case

metadata = MetaData()

chain = Table(
    "sixhours_audit_chain", metadata,
    # On SQLite an INTEGER primary key is the rowid itself: range scans read one b-tree.
    Column("notification_id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
           autoincrement=False),
    Column("case_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", String(128)),  # to name an altered event even when its bytes are garbled
    Column("digest", LargeBinary, nullable=False),  # SHA-256 of the stored event
    Column("link", LargeBinary, nullable=False),  # store chain: H(previous link, id, digest)
    Column("case_link", LargeBinary, nullable=False),  # case chain: H(case's previous link, digest)
)
Index("sixhours_audit_chain_case", chain.c.case_id, chain.c.version)

case_heads = Table(
    "sixhours_audit_case_heads", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("notification_id", BigInteger, nullable=False),
    Column("link", LargeBinary, nullable=False),
)

# Heads written down outside the chain (published reports, `audit anchor`): a chain rewritten
# consistently from some event on no longer reaches them.
anchors = Table(
    "sixhours_audit_anchors", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", BigInteger, nullable=False),
    Column("link", LargeBinary, nullable=False),
    Column("made_at_us", BigInteger, nullable=False),
    Column("what", Text, nullable=False),
)



def event_digest(case_id: str, version: int, topic: str, state: bytes) -> bytes:
    # The unit separator cannot occur in a case id or a topic, so the fields cannot run together.
    return hashlib.sha256(b"%s\x1f%d\x1f%s\x1f%s" % (
        case_id.encode(), version, topic.encode(), bytes(state))).digest()


def store_link(previous: bytes, notification_id: int, digest: bytes) -> bytes:
    return hashlib.sha256(previous + notification_id.to_bytes(8, "big") + digest).digest()


def case_link(previous: bytes, digest: bytes) -> bytes:
    return hashlib.sha256(previous + digest).digest()


def event_id_of(state: bytes) -> str | None:
    try:
        found = orjson.loads(state).get("event_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return found if isinstance(found, str) else None


class ChainRow(NamedTuple):
    notification_id: int
    case_id: str
    version: int
    event_id: str | None
    digest: bytes
    link: bytes
    case_link: bytes


class HashChainProjection:
    """Extends both chains by the notifications of a batch (raw, undecoded stored events)."""

    name = NAME

    def process(self, conn: Connection, notifications: Sequence[Any]) -> None:
        if not notifications:
            return
        previous = last_link(conn)
        ids = sorted({n.originator_id for n in notifications})
        heads = {r.case_id: r.link for r in conn.execute(
            select(case_heads.c.case_id, case_heads.c.link).where(case_heads.c.case_id.in_(ids)))}
        moved: dict[str, tuple[int, int, bytes]] = {}
        rows = []
        for n in notifications:
            digest = event_digest(n.originator_id, n.originator_version, n.topic, n.state)
            previous = store_link(previous, n.id, digest)
            own = case_link(heads.get(n.originator_id, GENESIS), digest)
            heads[n.originator_id] = own
            moved[n.originator_id] = (n.originator_version, n.id, own)
            rows.append(ChainRow(n.id, n.originator_id, n.originator_version, event_id_of(n.state),
                                 digest, previous, own))
        _insert_chain(conn, rows)
        conn.execute(delete(case_heads).where(case_heads.c.case_id.in_(list(moved))))
        conn.execute(insert(case_heads), [
            {"case_id": c, "version": v, "notification_id": i, "link": link}
            for c, (v, i, link) in moved.items()])


def _insert_chain(conn: Connection, rows: list[ChainRow]) -> None:
    columns = ", ".join(ChainRow._fields)
    if conn.dialect.name == "postgresql":
        # One statement of typed arrays (bytea included, which projections.bulk does not type).
        conn.exec_driver_sql(
            f"INSERT INTO {chain.name} ({columns}) SELECT * FROM unnest(%b::bigint[], "
            "%b::text[], %b::integer[], %b::text[], %b::bytea[], %b::bytea[], %b::bytea[])",
            tuple(list(column) for column in zip(*rows, strict=True)))
        return
    conn.exec_driver_sql(f"INSERT INTO {chain.name} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         list(rows))


def last_link(conn: Connection) -> bytes:
    found = conn.execute(select(chain.c.link).order_by(chain.c.notification_id.desc())
                         .limit(1)).scalar()
    return bytes(found) if found is not None else GENESIS


@dataclass(frozen=True)
class Head:
    """The chain up to a notification id: the hash of that event range."""

    through: int  # notification id (0: nothing chained)
    link: bytes

    def as_json(self) -> dict[str, Any]:
        return {"through_notification": self.through,
                "chain_head": self.link.hex() if self.through else None}


def head_at(conn: Connection, upto: int | None = None) -> Head:
    """The chain's head at notification `upto` (default: as far as it is chained)."""
    position = position_of(conn, NAME)
    if upto is None or upto > position:
        upto = position
    row = conn.execute(select(chain.c.notification_id, chain.c.link)
                       .where(chain.c.notification_id <= upto)
                       .order_by(chain.c.notification_id.desc()).limit(1)).first()
    if row is None:
        return Head(0, GENESIS)
    return Head(int(row[0]), bytes(row[1]))


def case_head(conn: Connection, case_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(case_heads).where(case_heads.c.case_id == case_id)).mappings().first()
    if row is None:
        return None
    return {"version": row["version"], "through_notification": row["notification_id"],
            "case_chain_head": bytes(row["link"]).hex()}


class RawNotifications:
    """The notification log as stored, not decoded: the chain hashes exactly these bytes."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    def max_notification_id(self) -> int | None:
        return self.recorder.max_notification_id()

    def read(self, after: int, limit: int) -> list[tuple[int, Any]]:
        return [(n.id, n) for n in self.recorder.select_notifications(after + 1, limit)]


def extend_chain(engine: Engine, recorder: Any, **options: Any) -> CatchUp:
    """Chain every stored event not chained yet (the worker's pass, or before a verification).
    The tables exist already: the composition root creates them with the read models'."""
    return catch_up(engine, RawNotifications(recorder), HashChainProjection(), **options)
