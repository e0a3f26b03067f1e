"""The service network (SPEC §2): a tree with one root, safe updates, grouping keys, supervisors."""

from __future__ import annotations

import pytest

from domain.network import NetworkError, Supervisor, build_network, parse_points, update_network
from tests.unit.factory import (
    SUPERVISOR_CITY,
    SUPERVISOR_LJ,
    SUPERVISOR_LY,
    example_network,
    network_points,
)


def refused(*changes: dict[str, object], without: tuple[str, ...] = ()) -> str:
    """Building the example network with `changes` fails; the reason is returned."""
    with pytest.raises(NetworkError) as info:
        example_network(*changes, without=without)
    return str(info.value)


def supervisor(raw: dict[str, str]) -> Supervisor:
    return Supervisor(raw["id"], raw["name"], raw.get("contact"))


class TestTree:
    def test_the_example_network_builds(self) -> None:
        network = example_network()
        assert network.is_known("ly-yc-jx") and not network.is_known("nowhere")
        assert network.area_of("tc-tyz") == "rural"

    def test_exactly_one_root(self) -> None:
        assert "exactly one root" in refused({"id": "tc", "parent": None})

    def test_a_network_without_a_root_is_refused(self) -> None:
        assert "exactly one root" in refused({"id": "bs", "parent": "ly"})

    def test_the_root_may_be_at_any_level(self) -> None:
        network = build_network(parse_points([
            {"id": "yn-tc", "name": "腾冲", "level": "county", "parent": None, "area": "rural",
             "kind": "centre"},
            {"id": "yn-tc-1", "name": "一村", "level": "village", "parent": "yn-tc", "area": "rural",
             "kind": "contact_point"},
        ]))
        assert network.key_at_level("yn-tc-1", "county") == "yn-tc"

    @pytest.mark.parametrize("level", ["county", "city"])  # its parent ly is a county
    def test_a_parent_is_above_its_child(self, level: str) -> None:
        assert "a parent is above its child" in refused({"id": "ly-yc", "level": level})

    def test_a_child_may_skip_levels(self) -> None:
        network = example_network({"id": "ly-yc-jx", "parent": "ly"})
        assert network.key_at_level("ly-yc-jx", "township") == "ly"

    def test_an_unknown_parent_is_refused(self) -> None:
        assert "unknown parent 'lx'" in refused({"id": "ly-yc", "parent": "lx"})

    def test_a_duplicate_id_is_refused(self) -> None:
        points = parse_points([*network_points(), network_points()[1]])
        with pytest.raises(NetworkError, match="'ly' appears twice"):
            build_network(points)


class TestPointFields:
    @pytest.mark.parametrize(("change", "reason"), [
        ({"level": "district"}, "level must be one of"),
        ({"area": "suburban"}, "area must be one of"),
        ({"kind": "office"}, "kind must be one of"),
        ({"name": ""}, "name is required"),
        ({"retired": "yes"}, "retired must be true or false"),
        ({"phone": "0875"}, "unknown fields"),
        ({"supervisors": [{"name": "无编号"}]}, "supervisor needs an id"),
    ])
    def test_malformed_points_are_refused_with_the_reason(self, change: dict[str, object],
                                                          reason: str) -> None:
        assert reason in refused({"id": "ly-yc", **change})

    @pytest.mark.parametrize("point_id", ["ly yc", "", "x" * 65])
    def test_ids_follow_the_id_pattern(self, point_id: str) -> None:
        with pytest.raises(NetworkError, match="id must match"):
            parse_points([{**network_points()[0], "id": point_id}])

    def test_a_network_file_is_a_list(self) -> None:
        with pytest.raises(NetworkError):
            parse_points({"bs": {}})


class TestRetired:
    def test_a_retired_point_is_known_and_retired(self) -> None:
        network = example_network()
        assert network.is_known("ly-old") and network.is_retired("ly-old")
        assert network.points["ly-old"].merged_into == "ly-yc"
        assert not network.is_retired("ly-yc")

    def test_merged_into_needs_retired(self) -> None:
        assert "merged_into needs retired" in refused({"id": "ly-old", "retired": False})

    def test_merged_into_an_unknown_point_is_refused(self) -> None:
        assert "merged into unknown 'ly-new'" in refused({"id": "ly-old", "merged_into": "ly-new"})


class TestUpdate:
    def test_a_point_referenced_by_events_cannot_be_removed(self) -> None:
        current = example_network()
        with pytest.raises(NetworkError, match="ly-lj") as info:
            update_network(current, parse_points(network_points(without=("ly-lj",))),
                           referenced={"ly-lj", "ly-yc"})
        assert "retired" in str(info.value)

    def test_a_referenced_point_may_be_retired_instead(self) -> None:
        new = parse_points(network_points({"id": "ly-lj", "retired": True, "merged_into": "ly-yc"}))
        updated, changes = update_network(example_network(), new, referenced={"ly-lj"})
        assert updated.is_retired("ly-lj")
        assert changes["retired"] == ["ly-lj"] and changes["removed"] == []

    def test_an_unreferenced_point_may_be_removed(self) -> None:
        new = parse_points(network_points(without=("tc-tyz-01",)))
        updated, changes = update_network(example_network(), new, referenced={"ly-yc"})
        assert not updated.is_known("tc-tyz-01")
        assert changes["removed"] == ["tc-tyz-01"]

    def test_points_may_be_added_renamed_and_moved(self) -> None:
        new = parse_points(network_points(
            {"id": "tc-court", "name": "腾冲市法院工作站", "level": "township", "parent": "tc",
             "area": "rural", "kind": "workstation", "host": "court"},
            {"id": "ly-yc", "name": "永昌街道法律援助工作站"},
            {"id": "ly-yc-jx", "parent": "ly-lj"},
        ))
        updated, changes = update_network(example_network(), new, referenced={"ly-yc", "ly-yc-jx"})
        assert changes["added"] == ["tc-court"]
        assert sorted(changes["changed"]) == ["ly-yc", "ly-yc-jx"]
        assert updated.key_at_level("ly-yc-jx", "township") == "ly-lj"

    def test_an_update_must_itself_be_a_valid_tree(self) -> None:
        with pytest.raises(NetworkError, match="unknown parent"):
            update_network(example_network(), parse_points(network_points(without=("ly",))),
                           referenced=())


class TestGrouping:
    @pytest.mark.parametrize(("point", "level", "key"), [
        ("ly-yc-jx", "village", "ly-yc-jx"),
        ("ly-yc-jx", "township", "ly-yc"),
        ("ly-yc-jx", "county", "ly"),
        ("ly-yc-jx", "city", "bs"),
        ("tc-tyz-01", "county", "tc"),
        ("ly", "county", "ly"),
        ("ly", "township", "ly"),  # the point stands above the level: its own id
        ("bs", "village", "bs"),
    ])
    def test_key_is_the_ancestor_at_the_level_or_the_point_above_it(self, point: str, level: str,
                                                                      key: str) -> None:
        assert example_network().key_at_level(point, level) == key

    @pytest.mark.parametrize(("point", "expected"), [
        ("ly-lj", SUPERVISOR_LJ),  # its own
        ("ly-yc", SUPERVISOR_LY),  # none of its own: its county's
        ("ly-yc-jx", SUPERVISOR_LY),  # two levels up
        ("tc-tyz-01", SUPERVISOR_CITY),  # nobody below the city
        ("bs", SUPERVISOR_CITY),
    ])
    def test_supervisors_come_from_the_nearest_point_that_has_some(self, point: str,
                                                                   expected: dict[str, str]) -> None:
        assert example_network().supervisors_of(point) == (supervisor(expected),)

    def test_a_network_with_no_supervisors_alerts_nobody(self) -> None:
        network = example_network(*({"id": p["id"], "supervisors": None} for p in network_points()))
        assert network.supervisors_of("ly-yc-jx") == ()
