"""Backends for the scenario tests: every scenario runs on SQLite and on PostgreSQL.

PostgreSQL is the real server at 127.0.0.1:5432; each test gets its own database, dropped after.
Under CI=true a missing server fails the run; elsewhere those tests skip with a hint.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN = os.environ.get("SIXHOURS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "examples"


def _pg_admin_connect():  # type: ignore[no-untyped-def]
    import psycopg
    return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)


def _pg_available() -> str | None:
    try:
        with _pg_admin_connect():
            return None
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return str(error)


@pytest.fixture(scope="session")
def examples() -> Path:
    if not EXAMPLES.is_dir():
        pytest.fail(f"worked examples not found at {EXAMPLES} (shared/ must sit beside the repo)")
    return EXAMPLES


def require_postgres() -> None:
    """Skip (or, under CI=true, fail) a test when the PostgreSQL server is not reachable."""
    problem = _pg_available()
    if problem is not None:
        message = (f"PostgreSQL is not reachable at {PG_ADMIN} ({problem}); install and start it "
                   "(apt-get install postgresql) or set SIXHOURS_TEST_PG")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    require_postgres()
    name = f"sixhours_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with _pg_admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment a clerk's shell would have, for this test's database."""
    values = {"SIXHOURS_DATABASE_URL": database_url, "SIXHOURS_DEV_MODE": "1",
              "SIXHOURS_LANG": "en"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values
