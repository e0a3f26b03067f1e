"""Direct access to a test's database, as someone with the database password would have it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:///")


def events_table(url: str) -> str:
    return "stored_events" if is_sqlite(url) else "sixhours_events"


def notification_column(url: str) -> str:
    return "rowid" if is_sqlite(url) else "notification_id"


def execute(url: str, sql: str, **params: Any) -> list[Any]:
    """Run one statement in its own transaction; rows if it returns any."""
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def notification_id(url: str, case_id: str, version: int) -> int:
    rows = execute(url, f"SELECT {notification_column(url)} FROM {events_table(url)} "
                        "WHERE originator_id = :case AND originator_version = :v",
                   case=case_id, v=version)
    return int(rows[0][0])


def edit_stored_event(url: str, case_id: str, version: int, old: str, new: str) -> None:
    """Replace text inside one stored event's bytes with SQL, as a tamperer would."""
    if is_sqlite(url):
        state = "CAST(REPLACE(CAST(state AS TEXT), :old, :new) AS BLOB)"
    else:
        state = "convert_to(replace(convert_from(state, 'UTF8'), :old, :new), 'UTF8')"
    execute(url, f"UPDATE {events_table(url)} SET state = {state} "
                 "WHERE originator_id = :case AND originator_version = :v",
            old=old, new=new, case=case_id, v=version)


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events),
                    encoding="utf-8")
    return path
