"""Only one worker sends alerts: when two run, one holds the lock; when it goes, the other takes it.

On PostgreSQL the lock is an advisory lock held by a session: a worker whose session dies (here
its backend is terminated, as a crash or a network cut would) loses it to the next one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from monitors.leader import AdvisoryLock, leader_for
from tests.monitors.scenario import settings_env, store


def test_one_sender_at_a_time(database_url: str) -> None:
    with store(settings_env(database_url)) as c:
        first, second = leader_for(c.engine, "alerts/x"), leader_for(c.engine, "alerts/x")
        other_policy = leader_for(c.engine, "alerts/y")
        assert first.held() and first.held()
        assert not second.held()
        assert other_policy.held()  # a lock per policy
        first.release()
        assert second.held() and not first.held()
        second.release()
        other_policy.release()


def test_a_dead_session_hands_the_lock_over(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's; on SQLite the lease row expires instead")
    with store(settings_env(database_url)) as c:
        first, second = AdvisoryLock(c.engine, "alerts/x"), AdvisoryLock(c.engine, "alerts/x")
        assert first.held() and not second.held()
        pid = first.conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with c.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert second.held()
        assert not first.held()  # it notices on its next pass
        second.release()
