"""Keep the read models live: catch up, then wait for new events, until told to stop.

PostgreSQL wakes the worker with LISTEN/NOTIFY (the event store NOTIFYs in the inserting
transaction); SQLite has no notifications, so the worker polls the notification log's head,
which is one indexed lookup. A stop request (SIGTERM) is honoured between batches: the batch in
hand commits with its position, and the next start resumes from there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("sixhours.worker")


class Wakeup(Protocol):
    def wait(self, timeout: float) -> None: ...
    def close(self) -> None: ...


class PollingWakeup:
    """Returns as soon as the notification log has grown, or after `timeout`."""

    def __init__(self, head: Callable[[], int | None], interval: float = 0.05) -> None:
        self.head = head
        self.interval = interval
        self.seen = head() or 0

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.head() or 0
            if current != self.seen:
                self.seen = current
                return
            time.sleep(self.interval)

    def close(self) -> None:
        pass


class ListenWakeup:
    """PostgreSQL LISTEN on the event store's channel, on a connection of its own."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self.conninfo, self.channel = conninfo, channel
        self.conn: Any = None

    def _connect(self) -> Any:
        import psycopg
        from psycopg import sql

        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
            self.conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        return self.conn

    def wait(self, timeout: float) -> None:
        import psycopg

        try:
            conn = self._connect()
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                break
            # Drain what else arrived: one catch-up pass covers them all.
            for _ in conn.notifies(timeout=0):
                pass
        except psycopg.OperationalError:
            # The server went away: listen again once it is back; poll meanwhile.
            self.close()
            time.sleep(min(timeout, 1.0))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_worker(sync: Callable[[Callable[[], bool]], bool], wakeup: Wakeup, stop: threading.Event,
               *, idle: float = 1.0, retry: float = 2.0) -> None:
    """Call `sync(should_stop)` whenever there may be new events, and again straight away while
    it answers that work is left, until `stop` is set.

    Storage outages are logged and retried: the worker never exits on them."""
    while not stop.is_set():
        try:
            more = sync(stop.is_set)
        except Exception as error:  # noqa: BLE001 - a worker outlives outages; it logs them
            log.warning("projection pass failed, retrying in %.0fs: %s", retry, error)
            stop.wait(retry)
            continue
        if not stop.is_set() and not more:
            wakeup.wait(idle)
