"""Insert many rows in few round trips.

SQLAlchemy's Core executemany builds and checks a parameter dict per row, which cost more than
the insert itself in a rebuild. SQLite takes plain tuples through the driver's executemany;
PostgreSQL takes one typed array per column in a single statement (psycopg would otherwise send
one prepared INSERT per row).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Boolean, Connection, Integer, Table

PG_ARRAY_TYPES = ((Boolean, "boolean"), (BigInteger, "bigint"), (Integer, "integer"))


def insert_rows(conn: Connection, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows given as named tuples whose fields are (some of) the table's columns."""
    if not rows:
        return
    columns = rows[0]._fields  # type: ignore[attr-defined]
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(f"%b::{_pg_type(table, c)}[]" for c in columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})",
                             tuple(list(column) for column in zip(*rows, strict=True)))
        return
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(rows))


def _pg_type(table: Table, column: str) -> str:
    kind = table.c[column].type
    return next((name for base, name in PG_ARRAY_TYPES if isinstance(kind, base)), "text")
