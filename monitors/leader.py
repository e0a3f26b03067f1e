"""Only one worker sends alerts: a PostgreSQL advisory lock, or a lease row on SQLite.

On PostgreSQL the lock belongs to a session of its own, held as long as that connection lives:
a worker that dies or loses its connection lets another take over at its next pass. Two
workers sending for a moment (a lost connection noticed late) would still not duplicate an
alert — the same labels make the same alert — but would double the traffic, so one sends.
SQLite serves one county from one file with one worker; a lease row guards against a second.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import zlib
from typing import Any, Protocol

from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, select, text, update
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("sixhours.monitors")

metadata = MetaData()
leases = Table(
    "sixhours_monitor_leases", metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_us", BigInteger, nullable=False),
)


class Leader(Protocol):
    def held(self) -> bool: ...
    def release(self) -> None: ...


def lock_key(name: str) -> int:
    """A stable 63-bit key for the advisory lock, from the lock's name."""
    return (zlib.crc32(b"sixhours") << 31) ^ zlib.crc32(name.encode())


class AdvisoryLock:
    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.key = lock_key(name)
        self.conn: Any = None

    def held(self) -> bool:
        try:
            if self.conn is None:
                conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar():
                    conn.close()
                    return False
                self.conn = conn
                log.info("monitors: this worker now sends alerts (advisory lock %d)", self.key)
            else:
                self.conn.execute(text("SELECT 1"))  # the lock lives as long as this session
            return True
        except DBAPIError as error:
            log.warning("monitors: lost the advisory lock's connection: %s", error)
            self._drop()
            return False

    def _drop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(DBAPIError):
                self.conn.invalidate()
                self.conn.close()
        self.conn = None

    def release(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(DBAPIError):
                self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self.conn.close()
            self.conn = None


class Lease:
    """A lease row, renewed once half its time has gone; another holder may take it only once it
    has expired, so until then it is ours without asking the database (a write transaction per
    pass would cost every pass a commit)."""

    def __init__(self, engine: Engine, name: str, ttl_seconds: float = 30.0) -> None:
        self.engine, self.name, self.ttl_us = engine, name, int(ttl_seconds * 1_000_000)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self.sure_until_us = 0  # until then it is surely ours: half its time is still left
        metadata.create_all(engine)

    def held(self) -> bool:
        now = int(time.time() * 1_000_000)
        if now < self.sure_until_us:
            return True
        self.sure_until_us = 0
        with self.engine.begin() as conn:
            row = conn.execute(select(leases).where(leases.c.name == self.name)).first()
            if row is None:
                conn.execute(leases.insert().values(name=self.name, holder=self.holder,
                                                    expires_us=now + self.ttl_us))
            elif row.holder != self.holder and row.expires_us > now:
                return False
            else:
                conn.execute(update(leases).where(leases.c.name == self.name).values(
                    holder=self.holder, expires_us=now + self.ttl_us))
        self.sure_until_us = now + self.ttl_us // 2
        return True

    def release(self) -> None:
        self.sure_until_us = 0
        with self.engine.begin() as conn:
            conn.execute(leases.delete().where(leases.c.name == self.name,
                                               leases.c.holder == self.holder))


def leader_for(engine: Engine, name: str, ttl_seconds: float = 30.0) -> Leader:
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, name)
    return Lease(engine, name, ttl_seconds)
