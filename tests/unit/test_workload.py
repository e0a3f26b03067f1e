"""The synthetic workload: a Baoshan-like network and event streams valid under SPEC §3."""

from __future__ import annotations

import inspect
import json
import re
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from sixhours.workload import (
    baoshan_network,
    generate_events,
    handlers,
    write_events,
    write_network,
)

CST = timezone(timedelta(hours=8))
START = datetime(2026, 3, 1, tzinfo=CST)
ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LEVELS = ("country", "province", "city", "county", "township", "village")
TYPES = ("application_received", "onsite_requested", "arrived", "materials_requested",
         "materials_received", "reviewed", "transferred", "accepted", "assigned",
         "first_meeting", "closed", "documents_reviewed", "follow_up_call", "withdrawn",
         "corrected")
RANK = {t: i for i, t in enumerate(TYPES)}
DATA_KEYS = {  # type: (required, optional)
    "application_received": ({"service_point", "channel", "category", "groups"},
                             {"mobility_impaired", "area", "applicant"}),
    "onsite_requested": (set(), set()),
    "arrived": ({"who"}, {"travel_minutes"}),
    "materials_requested": (set(), {"items"}),
    "materials_received": (set(), set()),
    "reviewed": ({"decision"}, {"reason"}),
    "transferred": ({"to_service_point"}, set()),
    "accepted": (set(), set()),
    "assigned": ({"handler", "handler_kind"}, set()),
    "first_meeting": ({"mode"}, set()),
    "closed": ({"outcome"}, set()),
    "documents_reviewed": (set(), {"grade"}),
    "follow_up_call": ({"reached"}, {"satisfaction"}),
    "withdrawn": ({"reason"}, set()),
    "corrected": ({"target_event_id", "occurred_at", "reason"}, set()),
}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def network() -> list[dict[str, Any]]:
    return baoshan_network(seed=3)


@pytest.fixture(scope="module")
def events(network: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(generate_events(network, cases=2000, seed=11, start=START, days=30))


@pytest.fixture(scope="module")
def cases(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_case[event["case_id"]].append(event)
    return by_case


def in_order(case: list[dict[str, Any]], times: dict[str, datetime] | None = None) -> list[dict]:
    """SPEC §3 application order: instant, then rank, then file order."""
    times = times or {e["event_id"]: at(e["occurred_at"]) for e in case}
    order = sorted(enumerate(case),
                   key=lambda p: (times[p[1]["event_id"]], RANK[p[1]["type"]], p[0]))
    return [e for _, e in order]


def check_rules(case: list[dict[str, Any]], points: dict[str, dict[str, Any]]) -> None:
    """The "allowed when" column of SPEC §3, over one case in application order."""
    seen: Counter[str] = Counter()
    channel = point = decision = None
    review_open = paused = reached = withdrawn = False
    for e in case:
        kind, data = e["type"], e["data"]
        assert not withdrawn, "nothing may follow a withdrawal"
        assert decision != "refused" or kind == "corrected", "the case ends with a refusal"
        if kind == "application_received":
            assert not seen
            channel, point = data["channel"], data["service_point"]
            assert point in points and not points[point].get("retired")
            review_open = channel not in ("hotline", "outreach")
        else:
            assert seen["application_received"] == 1
        if kind in ("onsite_requested", "arrived"):
            assert not seen["reviewed"] and not (kind == "onsite_requested" and seen[kind])
            assert data.get("who") != "staff" or seen["onsite_requested"]
            review_open = review_open or kind == "arrived"
        elif kind == "materials_requested":
            assert review_open and not paused and not seen["reviewed"]
            paused = True
        elif kind == "materials_received":
            assert paused
            paused = False
        elif kind == "reviewed":
            assert not seen["reviewed"] and not paused and review_open
            assert channel not in ("hotline", "outreach") or seen["arrived"]
            decision = data["decision"]
        elif kind == "transferred":
            assert not seen["assigned"] and data["to_service_point"] != point
            point = data["to_service_point"]
            assert point in points and not points[point].get("retired")
        elif kind == "accepted":
            assert decision == "granted" and not seen["accepted"]
        elif kind == "assigned":
            assert seen["accepted"] and not seen["closed"]
        elif kind == "first_meeting":
            assert seen["assigned"] and not seen["first_meeting"]
        elif kind == "closed":
            assert seen["first_meeting"] and not seen["closed"]
        elif kind == "documents_reviewed":
            assert seen["closed"] and not seen["documents_reviewed"]
        elif kind == "follow_up_call":
            assert seen["closed"] and not reached
            reached = data["reached"]
        elif kind == "withdrawn":
            assert not seen["closed"] and decision != "refused"
            withdrawn = True
        seen[kind] += 1


def test_same_seed_gives_identical_network_handlers_and_events() -> None:
    assert baoshan_network(5) == baoshan_network(5)
    assert handlers(5) == handlers(5)
    net = baoshan_network(5)
    first = list(generate_events(net, cases=300, seed=9, start=START, days=10))
    assert first == list(generate_events(net, cases=300, seed=9, start=START, days=10))


def test_a_different_seed_gives_a_different_workload() -> None:
    net = baoshan_network(5)
    assert baoshan_network(5) != baoshan_network(6)
    assert list(generate_events(net, 300, 9, START, 10)) != list(generate_events(net, 300, 10,
                                                                                 START, 10))


def test_network_has_one_city_root_six_centres_and_133_workstations(network: list[dict]) -> None:
    roots = [p for p in network if p["parent"] is None]
    assert [(p["id"], p["level"], p["kind"]) for p in roots] == [("bs", "city", "centre")]
    kinds = Counter(p["kind"] for p in network)
    assert kinds["centre"] == 6 and kinds["workstation"] == 133
    assert 150 <= kinds["contact_point"] <= 500
    assert {p["id"] for p in network if p["level"] == "county"} == {"ly", "sd", "tc", "ll", "cn"}
    hosts = {p.get("host") for p in network}
    assert {"court", "detention_centre", "trade_union", "womens_federation",
            "disabled_persons_federation", "youth_league", "prison", "military"} <= hosts


def test_network_points_are_well_formed_and_parents_stand_above(network: list[dict]) -> None:
    by_id = {p["id"]: p for p in network}
    assert len(by_id) == len(network)
    for p in network:
        assert ID.fullmatch(p["id"]) and p["area"] in ("urban", "rural") and p["name"]
        assert list(p)[:6] == ["id", "name", "level", "parent", "area", "kind"]
        if p["parent"] is not None:
            parent = by_id[p["parent"]]
            assert LEVELS.index(parent["level"]) < LEVELS.index(p["level"])
        for sup in p.get("supervisors", []):
            assert set(sup) == {"id", "name", "contact"} and sup["contact"].startswith("wecom:")
    assert all(p.get("supervisors") for p in network if p["level"] == "county")
    assert any(p.get("supervisors") for p in network if p["kind"] == "workstation")


def test_there_are_516_handlers_of_the_four_kinds() -> None:
    team = handlers()
    assert len(team) == 516 and len({h for h, _ in team}) == 516
    assert {k for _, k in team} == {"lawyer", "grassroots_worker", "aid_staff", "volunteer"}


def test_every_case_starts_with_an_application_at_an_open_point(
        cases: dict[str, list[dict]], network: list[dict]) -> None:
    open_points = {p["id"] for p in network if not p.get("retired")}
    assert len(cases) == 2000
    for case in cases.values():
        first = in_order(case)[0]
        assert first["type"] == "application_received"
        assert first["data"]["service_point"] in open_points
        assert sum(e["type"] == "application_received" for e in case) == 1


def test_every_case_obeys_the_allowed_when_rules_before_and_after_corrections(
        cases: dict[str, list[dict]], network: list[dict]) -> None:
    points = {p["id"]: p for p in network}
    for case in cases.values():
        check_rules(in_order(case), points)
        times = {e["event_id"]: at(e["occurred_at"]) for e in case}
        for e in case:
            if e["type"] == "corrected":
                times[e["data"]["target_event_id"]] = at(e["data"]["occurred_at"])
        check_rules(in_order(case, times), points)


def test_hotline_and_outreach_cases_arrive_before_review(cases: dict[str, list[dict]]) -> None:
    checked = 0
    for case in cases.values():
        ordered = [e["type"] for e in in_order(case)]
        if case[0]["data"]["channel"] in ("hotline", "outreach") and "reviewed" in ordered:
            assert "arrived" in ordered[: ordered.index("reviewed")]
            checked += 1
    assert checked > 100


def test_nothing_follows_a_withdrawal(cases: dict[str, list[dict]]) -> None:
    withdrawn = [c for c in cases.values() if any(e["type"] == "withdrawn" for e in c)]
    assert withdrawn
    for case in withdrawn:
        assert in_order(case)[-1]["type"] == "withdrawn"


def test_nothing_is_recorded_more_than_five_minutes_before_it_occurred(
        events: list[dict]) -> None:
    five = timedelta(minutes=5)
    for e in events:
        assert at(e["recorded_at"]) >= at(e["occurred_at"]) - five
        if e["type"] == "corrected":
            assert at(e["recorded_at"]) >= at(e["data"]["occurred_at"]) - five
    assert any(at(e["recorded_at"]) - at(e["occurred_at"]) > timedelta(hours=1) for e in events)


def test_times_are_offset_iso_strings_some_with_sub_seconds(events: list[dict]) -> None:
    for e in events:
        assert e["occurred_at"].endswith("+08:00") and e["recorded_at"].endswith("+08:00")
    assert any("." in e["occurred_at"] for e in events)


def test_the_stream_is_in_global_occurred_order_and_interleaves_cases(events: list[dict]) -> None:
    times = [at(e["occurred_at"]) for e in events]
    assert times == sorted(times)
    switches = sum(a["case_id"] != b["case_id"] for a, b in zip(events, events[1:], strict=False))
    assert switches > len(events) // 2


def test_event_ids_are_unique_and_ids_well_formed(events: list[dict]) -> None:
    assert len({e["event_id"] for e in events}) == len(events)
    for e in events:
        assert ID.fullmatch(e["case_id"]) and 1 <= len(e["event_id"]) <= 128
        assert e.get("actor") is None or re.fullmatch(r"staff-\d{3}", e["actor"])
        assert list(e) in (["event_id", "case_id", "type", "occurred_at", "recorded_at", "data"],
                           ["event_id", "case_id", "type", "occurred_at", "recorded_at", "actor",
                            "data"])


def test_corrections_target_earlier_non_correction_events_of_the_same_case(
        cases: dict[str, list[dict]]) -> None:
    corrections = 0
    for case in cases.values():
        by_id = {e["event_id"]: e for e in case}
        for e in case:
            if e["type"] == "corrected":
                target = by_id[e["data"]["target_event_id"]]
                assert target["type"] != "corrected"
                assert at(target["occurred_at"]) < at(e["occurred_at"])
                assert at(e["data"]["occurred_at"]) < at(e["occurred_at"])
                corrections += 1
    assert corrections > 0


def test_data_fields_are_exactly_those_of_the_spec_with_real_types(events: list[dict]) -> None:
    for e in events:
        required, optional = DATA_KEYS[e["type"]]
        assert required <= set(e["data"]) <= required | optional, e
        data = e["data"]
        if e["type"] == "arrived" and data["who"] == "applicant":
            minutes = data["travel_minutes"]
            assert type(minutes) is int and 0 <= minutes <= 1440
        if e["type"] == "arrived" and data["who"] == "staff":
            assert "travel_minutes" not in data
        if e["type"] == "follow_up_call":
            assert type(data["reached"]) is bool and ("satisfaction" in data) == data["reached"]
        if e["type"] == "reviewed":
            assert ("reason" in data) == (data["decision"] == "refused")
        if e["type"] == "application_received":
            assert type(data.get("mobility_impaired", False)) is bool
            assert len(set(data["groups"])) == len(data["groups"])


def test_the_mix_contains_every_event_type_and_a_realistic_spread(events: list[dict]) -> None:
    types = Counter(e["type"] for e in events)
    assert set(types) == set(TYPES)
    channels = Counter(e["data"]["channel"] for e in events if e["type"] == "application_received")
    assert 0.45 < channels["walk_in"] / 2000 < 0.65 and channels["outreach"] > 40
    calls = [e["data"] for e in events if e["type"] == "follow_up_call"]
    assert any(not c["reached"] for c in calls)
    satisfied = Counter(c["satisfaction"] for c in calls if c["reached"])
    assert satisfied["satisfied"] > satisfied["basically_satisfied"] > satisfied["dissatisfied"]
    per_case = Counter(e["case_id"] for e in events if e["type"] != "corrected")
    closed = {e["case_id"] for e in events if e["type"] == "follow_up_call"}
    assert all(8 <= per_case[c] <= 16 for c in closed)
    finished = {e["case_id"] for e in events if e["type"] == "closed"}
    assert 0 < len(finished) < 2000  # recent cases are still open at the end


def test_generate_events_streams_without_building_the_whole_list(network: list[dict]) -> None:
    stream = generate_events(network, cases=10_000_000, seed=1, start=START, days=365)
    assert inspect.isgenerator(stream)
    began = time.perf_counter()
    head = [next(stream) for _ in range(100)]
    assert time.perf_counter() - began < 2
    assert head[0]["type"] == "application_received"


def test_a_naive_start_is_refused(network: list[dict]) -> None:
    with pytest.raises(ValueError):
        next(generate_events(network, 10, 1, datetime(2026, 3, 1), 5))


def test_files_are_written_as_json_lines_and_yaml(tmp_path, network: list[dict]) -> None:
    seen: list[int] = []
    count = write_events(tmp_path / "e.jsonl", network, 200, 4, START, 5, progress=seen.append)
    lines = (tmp_path / "e.jsonl").read_text(encoding="utf-8").splitlines()
    assert count == len(lines) and seen[-1] == count
    assert [json.loads(line) for line in lines] == list(generate_events(network, 200, 4, START, 5))
    text = "".join(lines)
    assert "\\u" not in text and any("\u4e00" <= ch <= "\u9fff" for ch in text)  # plain UTF-8
    write_network(tmp_path / "n.yaml", network)
    text = (tmp_path / "n.yaml").read_text(encoding="utf-8")
    assert "保山市法律援助中心" in text and yaml.safe_load(text) == network
