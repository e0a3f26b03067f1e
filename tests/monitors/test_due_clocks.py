"""What the monitors read from the open-clocks index agrees with the clock engine.

Given a generated history with open clocks (some paused for materials), at many evaluation
times after each case's last event, every clock the engine calls overdue, or running past a
warning threshold, is read from the due range with the same state and threshold — and nothing
else is; and the gauge's aggregate over that range (`state_counts`) counts exactly those states,
also under a policy whose review target depends on the area.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import Connection

from domain.clocks import evaluate
from domain.policy import Policy
from projections.case_clocks import history_from_json
from projections.due_clocks import DueClock, due_clocks, lead_us, state_counts
from projections.read_models import versions
from projections.tables import CaseTables, to_us
from tests.monitors.scenario import QUICK, generated_history, settings_env, store

START = datetime(2026, 3, 1, tzinfo=UTC)


def test_due_range_states_equal_the_clock_engine(database_url: str, tmp_path: Path) -> None:
    with store(settings_env(database_url)) as c:
        generated_history(c, tmp_path, cases=400, start=START, days=3)
        c.catch_up()
        tables = versions(c.engine).active
        assert tables is not None
        policy = c.policies[c.settings.default_policy]
        with c.engine.connect() as conn:
            histories = dict(conn.execute(tables.case_histories.select().with_only_columns(
                tables.case_histories.c.case_id, tables.case_histories.c.history)).all())
        network = c.network()
        horizon = START + timedelta(days=3)
        compared = warned = overdue = paused = 0
        for minutes in range(0, 180, 7):
            as_of = horizon + timedelta(minutes=minutes)
            at = to_us(as_of)
            with c.engine.connect() as conn:
                read = {(d.case_id, d.clock): d for d in
                        due_clocks(conn, tables, policy.name, at + lead_us(policy))}
            expected = {}
            for case_id, text in histories.items():
                steps = history_from_json(case_id, text)
                first = min(steps, key=lambda s: s.sort_key())
                evaluation = evaluate(case_id, steps, policy, as_of, c.settings.tz,
                                      network.area_of(first.data.get("service_point")))
                for name, clock in evaluation.clocks.items():
                    if clock.state == "overdue":
                        expected[(case_id, name)] = ("overdue", 1.0)
                    elif clock.state == "running" and clock.warning is not None:
                        expected[(case_id, name)] = ("warning", clock.warning)
                    paused += clock.paused
            got = {key: due.state(policy, at) for key, due in read.items()}
            got = {key: state for key, state in got.items() if state[0] != "running"}
            assert got == expected, as_of
            with c.engine.connect() as conn:
                assert_counts_equal_states(conn, tables, policy, at, list(read.values()))
            compared += len(expected)
            warned += sum(1 for s, _ in expected.values() if s == "warning")
            overdue += sum(1 for s, _ in expected.values() if s == "overdue")
        assert warned > 0 and overdue > 0 and paused > 0 and compared == warned + overdue


def assert_counts_equal_states(conn: Connection, tables: CaseTables, policy: Policy, at: int,
                               read: list[DueClock]) -> None:
    """`state_counts` says what `DueClock.state` says of each row of the due range."""
    ranges = {"earlier": (0, at - 3_600_000_000), "last hour": (at - 3_600_000_000, at)}
    counts = state_counts(conn, tables, policy, at, ranges)
    states = Counter((d.clock, d.state(policy, at)[0]) for d in read if d.clock in policy.clocks)
    for clock in policy.clocks:
        assert counts.warning.get(clock, 0) == states[(clock, "warning")], (clock, at)
        assert counts.overdue.get(clock, 0) == states[(clock, "overdue")], (clock, at)
        for name, (lo, hi) in ranges.items():
            expected = sum(1 for d in read if d.clock == clock and d.is_overdue(at)
                           and lo <= d.due_us < hi)
            assert counts.overdue_within[name].get(clock, 0) == expected, (clock, name, at)


def test_state_counts_follow_spans_by_area(database_url: str, tmp_path: Path) -> None:
    policy_file = tmp_path / "quick.yaml"
    policy_file.write_text(yaml.safe_dump({
        "name": QUICK, "version": "area", "finish_clock": "follow_up",
        "warning_thresholds": [0.5, 0.75],
        "clocks": {"onsite": {"minutes": 60}, "review": {"minutes": 60, "by_area": {"urban": 20}},
                   "assignment": {"minutes": 60}, "first_meeting": {"minutes": 60},
                   "follow_up": {"minutes": 60}, "reach": {"minutes": 60}}}))
    with store(settings_env(database_url, policy_file)) as c:
        generated_history(c, tmp_path, cases=300, start=START, days=2)
        c.catch_up()
        tables = versions(c.engine).active
        assert tables is not None
        policy = c.policies[QUICK]
        states: Counter[tuple[str, str]] = Counter()
        for minutes in range(0, 150, 10):
            at = to_us(START + timedelta(days=2, minutes=minutes))
            with c.engine.connect() as conn:
                read = due_clocks(conn, tables, policy.name, at + lead_us(policy))
                assert_counts_equal_states(conn, tables, policy, at, read)
            states.update((d.clock, d.state(policy, at)[0]) for d in read)
        assert states[("review", "warning")] > 0 and states[("review", "overdue")] > 0
