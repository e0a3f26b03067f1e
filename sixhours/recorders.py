"""Event recorders: eventsourcing's own, plus a store-wide event-id index in the same transaction.

The index makes `event_id` unique across the whole store (SPEC §3): a batch that reuses an id
fails as a whole with IntegrityError, exactly like a stream-version clash, and the service retries
it against fresh state. Both backends also answer "the histories of these cases" in one query,
so an import of many cases does not pay a round trip per case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent, Transcoder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

INDEX_TABLE = "sixhours_event_ids"
CHUNK = 900  # below SQLite's default limit of bound parameters


# Events sampled per part to place the cuts between parts.
SAMPLES_PER_PART = 32


def _sampled_ids(max_id: int, parts: int) -> list[int]:
    """Notification ids spread evenly over the log: every event is as likely to be picked, so
    the cases they belong to, in case order, cut the events into runs of about equal size
    (with many small parts, whose sizes need not be exact)."""
    samples = min(max_id, parts * SAMPLES_PER_PART)
    return [max_id * (n + 1) // samples for n in range(samples)]


def _cuts(case_ids: list[str], parts: int) -> list[str]:
    ordered = sorted(case_ids)
    return sorted({ordered[len(ordered) * n // parts] for n in range(1, parts)}) if ordered else []


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def _group(rows: list[Any]) -> dict[str, list[StoredEvent]]:
    histories: dict[str, list[StoredEvent]] = {}
    for row in rows:
        histories.setdefault(row["originator_id"], []).append(StoredEvent(
            originator_id=row["originator_id"], originator_version=row["originator_version"],
            topic=row["topic"], state=bytes(row["state"])))
    for events in histories.values():
        events.sort(key=lambda e: e.originator_version)
    return histories


class SQLiteCaseRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                f"CREATE TABLE IF NOT EXISTS {INDEX_TABLE} ("
                "event_id TEXT PRIMARY KEY, case_id TEXT NOT NULL) WITHOUT ROWID"]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        # One executemany instead of the stock row-at-a-time insert: nobody here needs the
        # returned notification ids, and the batch stays in one transaction either way.
        c.executemany(self.insert_events_statement, [
            (s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events])
        c.executemany(f"INSERT INTO {INDEX_TABLE} (event_id, case_id) VALUES (?, ?)",
                      kwargs.get("event_index", ()))
        return None

    def select_histories(self, case_ids: Sequence[str]) -> dict[str, list[StoredEvent]]:
        rows: list[Any] = []
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks(list(case_ids)):
                marks = ",".join("?" * len(chunk))
                c.execute(f"SELECT originator_id, originator_version, topic, state FROM "
                          f"{self.events_table_name} WHERE originator_id IN ({marks})", chunk)
                rows.extend(c.fetchall())
        return _group(rows)

    def select_streams(self, after_case: str, upto_case: str | None, max_id: int,
                       limit: int) -> list[tuple[str, int, bytes]]:
        """Events of the cases after `after_case` (up to `upto_case`), case by case, up to
        notification `max_id`."""
        upper = "AND originator_id <= ? " if upto_case is not None else ""
        args = (after_case, *([upto_case] if upto_case is not None else []), max_id, limit)
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_id, originator_version, state FROM {self.events_table_name} "
                      f"WHERE originator_id > ? {upper}AND rowid <= ? "
                      "ORDER BY originator_id, originator_version LIMIT ?", args)
            return [(row[0], row[1], row[2]) for row in c.fetchall()]

    def select_stream_splits(self, max_id: int, parts: int) -> list[str]:
        """Case ids that cut the events up to `max_id` into `parts` runs of about equal size."""
        found: list[str] = []
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks(_sampled_ids(max_id, parts)):
                c.execute(f"SELECT originator_id FROM {self.events_table_name} "
                          f"WHERE rowid IN ({','.join('?' * len(chunk))})", chunk)
                found.extend(row[0] for row in c.fetchall())
        return _cuts(found, parts)

    def select_event_cases(self, event_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks(list(event_ids)):
                marks = ",".join("?" * len(chunk))
                c.execute(f"SELECT event_id, case_id FROM {INDEX_TABLE} "
                          f"WHERE event_id IN ({marks})", chunk)
                found.update((row[0], row[1]) for row in c.fetchall())
        return found


class PostgresCaseRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.index_table = Identifier(self.datastore.schema, INDEX_TABLE)
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {} (event_id text PRIMARY KEY, case_id text NOT NULL)"
        ).format(self.index_table))
        self.insert_arrays_statement = SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id").format(
            Identifier(self.datastore.schema, self.events_table_name))

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                              **kwargs: Any) -> None:
        # Same statement shape as the stock recorder (table lock, NOTIFY, RETURNING ids), but
        # four plain arrays sent in binary instead of an array of a composite type in text,
        # whose escaping cost more than everything else in an import.
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self.insert_arrays_statement, (
            [s.originator_id for s in stored_events],
            [s.originator_version for s in stored_events],
            [s.topic for s in stored_events], [s.state for s in stored_events]))

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> None:
        rows = list(kwargs.get("event_index", ()))
        if rows:
            curs.execute(SQL("INSERT INTO {} (event_id, case_id) "
                             "SELECT * FROM unnest(%b::text[], %b::text[])").format(
                self.index_table), ([r[0] for r in rows], [r[1] for r in rows]))

    def select_histories(self, case_ids: Sequence[str]) -> dict[str, list[StoredEvent]]:
        if not case_ids:
            return {}
        table = Identifier(self.datastore.schema, self.events_table_name)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT originator_id, originator_version, topic, state FROM {} "
                             "WHERE originator_id = ANY(%b)").format(table), (list(case_ids),))
            return _group(curs.fetchall())

    def select_streams(self, after_case: str, upto_case: str | None, max_id: int,
                       limit: int) -> list[tuple[str, int, bytes]]:
        """Events of the cases after `after_case` (up to `upto_case`), case by case, up to
        notification `max_id`."""
        table = Identifier(self.datastore.schema, self.events_table_name)
        upper = SQL("AND originator_id <= %s ") if upto_case is not None else SQL("")
        args = (after_case, *([upto_case] if upto_case is not None else []), max_id, limit)
        with self.datastore.transaction(commit=False) as curs:
            # Plain tuples, in binary: a build reads every event this way, and making a dict
            # per row and decoding the state from hex cost more than the query.
            curs.row_factory = tuple_row  # type: ignore[assignment]
            curs.execute(SQL("SELECT originator_id, originator_version, state FROM {} "
                             "WHERE originator_id > %s {}AND notification_id <= %s "
                             "ORDER BY originator_id, originator_version LIMIT %s").format(
                table, upper), args, binary=True)
            return curs.fetchall()  # type: ignore[return-value]

    def select_stream_splits(self, max_id: int, parts: int) -> list[str]:
        """Case ids that cut the events up to `max_id` into `parts` runs of about equal size."""
        table = Identifier(self.datastore.schema, self.events_table_name)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT originator_id FROM {} WHERE notification_id = ANY(%b)")
                         .format(table), (_sampled_ids(max_id, parts),))
            return _cuts([row["originator_id"] for row in curs.fetchall()], parts)

    def select_event_cases(self, event_ids: Sequence[str]) -> dict[str, str]:
        if not event_ids:
            return {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT event_id, case_id FROM {} WHERE event_id = ANY(%b)").format(
                self.index_table), (list(event_ids),))
            return {row["event_id"]: row["case_id"] for row in curs.fetchall()}


class OrjsonTranscoder(Transcoder):
    """Plain JSON, encoded by orjson: case events hold only JSON types (times are ISO strings),
    so the stored bytes are the same standard JSON the stock transcoder would read."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)
