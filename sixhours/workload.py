"""Deterministic synthetic workload: a Baoshan-like service network and SPEC §3 event streams.

For tests, demos and benchmarks. Everything derives from the seed: the same arguments always give
the same output. Each case is planned whole when its application arrives (8–15 events, each step
valid under SPEC §3) and cases are merged through a heap keyed by their next event's time, so the
stream is in global `occurred_at` order and memory holds only the cases in flight. Events after
`start + days` are left out, so recent cases stay open.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

import yaml

SEC, MIN, HOUR, DAY = 1_000, 60_000, 3_600_000, 86_400_000  # milliseconds
LATE = 0.018  # share of one-hour steps that overrun (gives ~90% of cases achieving six hours)
_OFFSET = 8 * HOUR  # Asia/Shanghai: no DST since 1991
_COUNTIES = (  # id, name, area of the centre, townships (街道 are urban)
    ("ly", "隆阳区", "urban", "永昌街道 兰城街道 九隆街道 青华街道 河图街道 板桥镇 汉庄镇 蒲缥镇 "
     "瓦窑镇 潞江镇 金鸡乡 辛街乡 西邑乡 丙麻乡 瓦渡乡 水寨乡 瓦马乡 瓦房乡 杨柳乡 芒宽乡"),
    ("sd", "施甸县", "rural", "甸阳镇 由旺镇 姚关镇 太平镇 仁和镇 水长乡 何元乡 万兴乡 酒房乡 "
     "旧城乡 老麦乡 木老元乡 摆榔乡"),
    ("tc", "腾冲市", "rural", "腾越街道 和顺镇 固东镇 滇滩镇 猴桥镇 中和镇 界头镇 曲石镇 明光镇 "
     "马站乡 北海乡 清水乡 芒棒镇 五合乡 新华乡 蒲川乡 荷花镇 团田乡"),
    ("ll", "龙陵县", "rural", "龙山镇 镇安镇 勐糯镇 腊勐镇 象达镇 龙江乡 碧寨乡 平达乡 木城乡 "
     "龙新乡"),
    ("cn", "昌宁县", "rural", "田园镇 漭水镇 柯街镇 卡斯镇 勐统镇 温泉镇 大田坝镇 鸡飞镇 更戛乡 "
     "湾甸乡 珠街乡 耈街乡 翁堵镇"),
)
_HOSTS = (  # id suffix, host, label; every county gets the first seven, then fill up to 133
    ("court", "court", "人民法院"), ("detention", "detention_centre", "看守所"),
    ("union", "trade_union", "总工会"), ("women", "womens_federation", "妇联"),
    ("disabled", "disabled_persons_federation", "残联"), ("youth", "youth_league", "团委"),
    ("military", "military", "人武部"), ("procuratorate", "procuratorate", "人民检察院"),
    ("police", "public_security", "公安局"), ("petition", "petition_office", "信访局"),
    ("arbitration", "labour_arbitration", "劳动人事争议仲裁院"),
    ("veterans", "veterans_affairs", "退役军人事务局"))
_WORKSTATIONS, _HANDLERS, _STAFF = 133, 516, 180
_VILLAGES = ("新华", "团结", "和平", "东风", "红旗", "大坡", "小河", "中寨", "上寨", "下寨", "河湾",
             "新民", "坝头", "龙潭", "松林", "象山", "金山", "水井", "沙坝", "石桥", "新街")
_SURNAMES = "李王张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗段尹杜董"
_GIVEN = "伟芳敏静丽强磊军勇艳杰娟涛明超秀英华玉兰建国文斌平红春梅"
_RANK = {t: i for i, t in enumerate((
    "application_received", "onsite_requested", "arrived", "materials_requested",
    "materials_received", "reviewed", "transferred", "accepted", "assigned", "first_meeting",
    "closed", "documents_reviewed", "follow_up_call", "withdrawn", "corrected"))}
_REMOTE = ("hotline", "outreach")  # their review clock starts at the first `arrived`
_CHANNELS = ("walk_in", "hotline", "online", "referral", "outreach"), (55, 70, 85, 95, 100)
_CATEGORIES = ("civil", "criminal", "administrative"), (70, 95, 100)
_GROUPS = ("elderly", "disabled", "migrant_worker", "woman", "minor", "military", "low_income",
           "other")
_GROUP_W = (18, 8, 22, 20, 8, 3, 18, 3)
_OUTCOMES = ("favourable", "partially_favourable", "mediated", "unfavourable", "terminated",
             "other"), (45, 65, 85, 93, 97, 100)
_KINDS = ("lawyer", "grassroots_worker", "aid_staff", "volunteer"), (50, 75, 90, 100)
_SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied"), (85, 97, 100)
_GRADES = ("excellent", "good", "pass", "fail"), (30, 80, 98, 100)
_MODES = ("in_person", "video", "phone"), (70, 85, 100)
_REFUSALS = ("经济状况不符合法律援助条件", "不属于法律援助事项范围", "已自行委托律师",
             "逾期未补正材料")
_WITHDRAWALS = ("申请人与对方自行和解", "申请人另行委托律师", "申请人撤回申请")
_CORRECTIONS = ("补录更正", "录入时间有误", "系统时钟偏差")
_ITEMS = ("身份证明", "经济困难状况说明", "劳动合同", "判决书", "起诉状副本", "工资欠条")


def _pick(rng: random.Random, table: tuple[tuple[Any, ...], tuple[int, ...]]) -> Any:
    return rng.choices(table[0], cum_weights=table[1])[0]


def _int(rng: random.Random, lo: int, hi: int) -> int:
    """Like rng.randint(lo, hi), several times faster."""
    return lo + int(rng.random() * (hi - lo + 1))


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2, 2))))


def _point(pid: str, name: str, level: str, parent: str | None, area: str, kind: str,
           host: str | None = None) -> dict[str, Any]:
    point = {"id": pid, "name": name, "level": level, "parent": parent, "area": area, "kind": kind}
    return point | {"host": host} if host else point


def _supervise(rng: random.Random, point: dict[str, Any], count: int) -> None:
    ids = [f"sup-{point['id']}-{k:02d}" for k in range(1, count + 1)]
    point["supervisors"] = [{"id": s, "name": _name(rng), "contact": f"wecom:{s}"} for s in ids]


def baoshan_network(seed: int = 1) -> list[dict[str, Any]]:
    """City root, 5 county centres, 133 workstations and a few hundred village contact points."""
    rng = random.Random(f"network-{seed}")
    centres = [_point("bs", "保山市法律援助中心", "city", None, "urban", "centre",
                      "justice_bureau")]
    centres += [_point(cid, f"{name}法律援助中心", "county", "bs", area, "centre", "justice_bureau")
                for cid, name, area, _ in _COUNTIES]
    for centre in centres:
        _supervise(rng, centre, 1 if centre["id"] == "bs" else 2)
    stations = [_point(f"{cid}-t{i:02d}", f"{town}工作站", "township", cid,
                       "urban" if town.endswith("街道") else "rural", "workstation")
                for cid, _, _, towns in _COUNTIES for i, town in enumerate(towns.split(), 1)]
    stations.append(_point("ly-prison", "保山监狱工作站", "township", "ly", "urban", "workstation",
                           "prison"))
    hosted = [(county, host) for host in _HOSTS for county in _COUNTIES]
    for (cid, cname, _, _), (short, host, label) in hosted[: _WORKSTATIONS - len(stations)]:
        stations.append(_point(f"{cid}-{short}", f"{cname}{label}工作站", "township", cid, "urban",
                               "workstation", host))
    contacts = []
    for ws in stations:
        if rng.random() < 0.2:
            _supervise(rng, ws, 1)
        if "host" in ws or rng.random() < 0.25:
            continue
        base = ws["name"][:-3].removesuffix("街道").rstrip("镇乡")
        suffix = "社区联络点" if ws["area"] == "urban" else "村联络点"
        for k, village in enumerate(rng.sample(_VILLAGES, rng.randint(2, 7)), 1):
            contacts.append(_point(f"{ws['id']}-{k:02d}", f"{base}{village}{suffix}", "village",
                                   ws["id"], ws["area"], "contact_point"))
    return centres + stations + contacts


def handlers(seed: int = 1) -> list[tuple[str, str]]:
    """516 case handlers as (id, handler_kind)."""
    rng = random.Random(f"handlers-{seed}")
    return [(f"handler-{i:03d}", _pick(rng, _KINDS)) for i in range(1, _HANDLERS + 1)]


@lru_cache(maxsize=8192)
def _day_prefix(day: int) -> str:
    return f"{date(1970, 1, 1) + timedelta(days=day)}T"


def _fmt(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 in +08:00, with milliseconds only when there are some."""
    day, rem = divmod(ms + _OFFSET, DAY)
    sec, milli = divmod(rem, SEC)
    h, sec = divmod(sec, 3600)
    m, sec = divmod(sec, 60)
    frac = f".{milli:03d}" if milli else ""
    return f"{_day_prefix(day)}{h:02d}:{m:02d}:{sec:02d}{frac}+08:00"


def _mins(rng: random.Random, lo: float, hi: float) -> int:
    return int((lo + rng.random() * (hi - lo)) * MIN)


def _clock(rng: random.Random) -> int:
    """Active time of a one-hour step: mostly met, sometimes late."""
    return _mins(rng, 61, 240) if rng.random() < LATE else _mins(rng, 4, 57)


class Intake:
    """The open service points of a network, weighted for intake, and the handlers."""

    def __init__(self, network: list[dict[str, Any]], seed: int) -> None:
        live = [p for p in network if not p.get("retired")]
        if not live:
            raise ValueError("the network has no open service point")
        self.points = [(p["id"], p.get("area") or "urban") for p in live]
        weights = [{"centre": 10.0 if p.get("level") == "city" else 40.0, "workstation": 3.0}
                   .get(p.get("kind", ""), 0.5) for p in live]
        self.cum = list(accumulate(weights))
        self.handlers = handlers(seed)

    def pick(self, rng: random.Random) -> tuple[str, str]:
        return rng.choices(self.points, cum_weights=self.cum)[0]

    def handler(self, rng: random.Random) -> dict[str, str]:
        hid, kind = rng.choice(self.handlers)
        return {"handler": hid, "handler_kind": kind}


class _Case:
    """One case's plan: events as (t, rank, type, data, actor, recorded_delay, event_id)."""

    def __init__(self, rng: random.Random, case_id: str, t0: int) -> None:
        self.rng, self.case_id, self.t = rng, case_id, t0
        self.staff = f"staff-{_int(rng, 1, _STAFF):03d}"
        self.events: list[tuple[Any, ...]] = []

    def put(self, t: int, etype: str, data: dict[str, Any]) -> None:
        rng, r = self.rng, self.rng.random()
        actor = self.staff if r < 0.75 else None if r < 0.9 else f"staff-{_int(rng, 1, _STAFF):03d}"
        r = rng.random()  # recording delay: never before occurred_at, sometimes hours later
        late = _int(rng, 0, 300) if r < 0.85 else _int(rng, 300, 3600) if r < 0.97 else _int(
            rng, 3600, 30 * 3600)
        eid = f"{self.case_id}-{len(self.events) + 1:02d}"
        self.events.append((t, _RANK[etype], etype, data, actor, late * SEC, eid))

    def step(self, delay: int, etype: str, data: dict[str, Any]) -> None:
        """Add an event `delay` ms after the previous one (0: same instant, for a higher rank)."""
        t = self.t
        if delay:
            t = max((t + delay) // SEC * SEC, t // SEC * SEC + SEC)
            if self.rng.random() < 0.08:
                t += _int(self.rng, 1, 999)
        self.t = t
        self.put(t, etype, data)

    def finish(self) -> list[tuple[Any, ...]]:
        if len(self.events) >= 3 and self.rng.random() < 0.02:
            self._correct()
        return self.events

    def _correct(self) -> None:
        """Move one event strictly between its neighbours; the correction comes after both times
        (and before a withdrawal, which nothing may follow)."""
        rng, ev = self.rng, self.events
        i = rng.randrange(1, len(ev) - 1)
        prev_t, t, next_t = ev[i - 1][0], ev[i][0], ev[i + 1][0]
        lo = prev_t // SEC * SEC + SEC
        if next_t - lo < 2 * SEC:
            return
        new_t = lo + rng.randrange((next_t - 1 - lo) // SEC + 1) * SEC
        c_lo = max(t, new_t) + MIN
        c_hi = ev[-1][0] - SEC if ev[-1][2] == "withdrawn" else c_lo + 3 * DAY
        if c_hi > c_lo:
            data = {"target_event_id": ev[i][6], "occurred_at": _fmt(new_t),
                    "reason": rng.choice(_CORRECTIONS)}
            self.put(rng.randrange(c_lo, c_hi) // SEC * SEC, "corrected", data)
            ev.sort(key=lambda e: (e[0], e[1]))


def _application(rng: random.Random, point: tuple[str, str], channel: str,
                 mobility: bool) -> dict[str, Any]:
    r = rng.random()
    groups = set() if r < 0.55 else set(rng.choices(_GROUPS, _GROUP_W, k=1 if r < 0.9 else 2))
    if mobility and rng.random() < 0.6:
        groups.add(rng.choice(("disabled", "elderly")))
    data: dict[str, Any] = {"service_point": point[0], "channel": channel,
                            "category": _pick(rng, _CATEGORIES),
                            "groups": [g for g in _GROUPS if g in groups]}
    if mobility or rng.random() < 0.3:
        data["mobility_impaired"] = mobility
    if rng.random() < 0.1:
        data["area"] = point[1] if rng.random() < 0.7 else {"urban": "rural"}.get(point[1], "urban")
    if rng.random() < 0.2:  # a well-formed (fictitious) resident id number of Baoshan
        body = (f"5305{rng.choice(('02', '21', '23', '24', '81'))}{_int(rng, 1950, 2008)}"
                f"{_int(rng, 1, 12):02d}{_int(rng, 1, 28):02d}{_int(rng, 0, 999):03d}")
        check = "10X98765432"[sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body)) % 11]
        data["applicant"] = {"name": _name(rng), "id_number": body + check,
                             "phone": f"1{rng.choice('3589')}{_int(rng, 0, 10**9 - 1):09d}"}
    return data


def _plan(rng: random.Random, net: Intake, case_id: str, t0: int) -> list[tuple[Any, ...]]:
    """Plan one case from its application at t0 (epoch ms) to its follow-up call."""
    c, point, channel = _Case(rng, case_id, t0), net.pick(rng), _pick(rng, _CHANNELS)
    mobility, fate = rng.random() < 0.08, rng.random()
    refused, stage = fate < 0.05, rng.randrange(4) if 0.05 <= fate < 0.08 else -1  # withdrawal
    c.put(t0, "application_received", _application(rng, point, channel, mobility))
    if mobility:
        c.step(0 if rng.random() < 0.5 else _mins(rng, 0.2, 5), "onsite_requested", {})
        c.step(_clock(rng), "arrived", {"who": "staff"})
    elif channel in _REMOTE or (channel == "walk_in" and rng.random() < 0.7):
        gap = {"hotline": _mins(rng, 20, 1440), "outreach": _mins(rng, 5, 90)}.get(channel, 0)
        travel = (_int(rng, 0, 40) if channel == "outreach" else _int(rng, 61, 180)
                  if rng.random() < 0.04 else _int(rng, 2, 59))
        c.step(gap, "arrived", {"who": "applicant", "travel_minutes": travel})
    if stage == 0:
        return _withdraw(c)
    remaining = max(_clock(rng) - (c.t - (c.t if channel in _REMOTE else t0)), MIN)
    if rng.random() < 0.10:  # review clock open, not paused: ask for materials, once or twice
        for _ in range(2 if rng.random() < 0.15 else 1):
            part = int(remaining * (0.2 + 0.4 * rng.random()))
            remaining -= part
            items = rng.sample(_ITEMS, _int(rng, 1, 2)) if rng.random() < 0.8 else None
            c.step(part, "materials_requested", {"items": items} if items else {})
            pause = _mins(rng, 30, 180) if rng.random() < 0.6 else _mins(rng, 180, 4320)
            c.step(pause, "materials_received", {})
    c.step(remaining, "reviewed", {"decision": "refused", "reason": rng.choice(_REFUSALS)}
           if refused else {"decision": "granted"})
    if refused:
        return c.finish()
    if stage == 1:
        return _withdraw(c)
    budget = _clock(rng)
    if rng.random() < 0.03 and len(net.points) > 1:
        target = point
        while target[0] == point[0]:
            target = net.pick(rng)
        part = int(budget * (0.1 + 0.2 * rng.random()))
        budget -= part
        c.step(part, "transferred", {"to_service_point": target[0]})
    part = int(budget * (0.2 + 0.4 * rng.random()))
    c.step(part, "accepted", {})
    c.step(budget - part, "assigned", net.handler(rng))
    if stage == 2:
        return _withdraw(c)
    budget, reassign = _clock(rng), rng.random() < 0.05
    if reassign and rng.random() < 0.4:  # reassigned before the first meeting
        part, reassign = int(budget * (0.3 + 0.4 * rng.random())), False
        budget -= part
        c.step(part, "assigned", net.handler(rng))
    c.step(budget, "first_meeting", {"mode": _pick(rng, _MODES)})
    if stage == 3:
        return _withdraw(c)
    if reassign:
        c.step(_mins(rng, 60, 2880), "assigned", net.handler(rng))
    close_delay = 2 * HOUR + int(rng.expovariate(1 / (4 * DAY)))
    c.step(min(close_delay, 25 * DAY), "closed", {"outcome": _pick(rng, _OUTCOMES)})
    _follow_up(c)
    return c.finish()


def _follow_up(c: _Case) -> None:
    """Documents review and calls (unreached attempts, then usually a reached one), any order."""
    rng = c.rng
    calls: list[dict[str, Any]] = [{"reached": False} for _ in range(_pick(rng, ((0, 1, 2),
                                                                                  (80, 95, 100))))]
    if rng.random() < 0.98:
        calls.append({"reached": True, "satisfaction": _pick(rng, _SATISFACTION)})
    steps = [("follow_up_call", call) for call in calls]
    grade = {"grade": _pick(rng, _GRADES)} if rng.random() < 0.7 else {}
    steps.insert(rng.randint(0, len(steps)), ("documents_reviewed", grade))
    marks = sorted(rng.sample(range(30, max(_clock(rng) // SEC, 300)), len(steps)))
    for prev, mark, (etype, data) in zip([0, *marks], marks, steps, strict=False):
        c.step((mark - prev) * SEC, etype, data)


def _withdraw(c: _Case) -> list[tuple[Any, ...]]:
    c.step(_mins(c.rng, 10, 4320), "withdrawn", {"reason": c.rng.choice(_WITHDRAWALS)})
    return c.finish()


class PlannedEvent(NamedTuple):
    """One planned step: when it happens and when a clerk writes it down (epoch ms), and the
    SPEC §3 event (with that `recorded_at`)."""

    occurred_ms: int
    recorded_ms: int
    event: dict[str, Any]


def plan_case(rng: random.Random, intake: Intake, case_id: str, t0: int) -> list[PlannedEvent]:
    """The whole life of one case whose application arrives at `t0` (epoch ms), in the order
    its events apply; every step is valid under SPEC §3 when recorded in this order."""
    plan = []
    for t, _, etype, data, actor, late, eid in _plan(rng, intake, case_id, t0):
        event = {"event_id": eid, "case_id": case_id, "type": etype, "occurred_at": _fmt(t),
                 "recorded_at": _fmt(t + late)}
        if actor:
            event["actor"] = actor
        event["data"] = data
        plan.append(PlannedEvent(t, t + late, event))
    return plan


def generate_events(network: list[dict[str, Any]], cases: int, seed: int, start: datetime,
                    days: int = 30) -> Iterator[dict[str, Any]]:
    """Yield SPEC §3 event dicts of `cases` cases arriving over `days` days, by occurred_at."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be an aware datetime")
    if cases < 0 or days <= 0:
        raise ValueError("cases must be >= 0 and days > 0")
    rng, net = random.Random(seed), Intake(network, seed)
    t_start = int(start.timestamp() * SEC)
    horizon = t_start + days * DAY
    midnight = (t_start + _OFFSET) // DAY * DAY - _OFFSET
    year = start.astimezone(timezone(timedelta(milliseconds=_OFFSET))).year
    heap: list[tuple[int, int, list[PlannedEvent], int]] = []
    seq = 0
    for i in range(cases + 1):
        if i < cases:  # stratified arrivals in office hours 08:00–19:00 (not before start)
            pos = (i + rng.random()) / cases * days
            day = int(pos)
            lo = max(midnight + day * DAY + 8 * HOUR, t_start)
            hi = max(midnight + day * DAY + 19 * HOUR, lo + HOUR)
            t0 = min(lo + int((pos - day) * (hi - lo)), horizon) // SEC * SEC
        else:
            t0 = horizon + 1
        while heap and heap[0][0] < t0:
            _, _, plan, idx = heap[0]
            if idx + 1 < len(plan) and plan[idx + 1].occurred_ms <= horizon:
                seq += 1
                heapq.heapreplace(heap, (plan[idx + 1].occurred_ms, seq, plan, idx + 1))
            else:
                heapq.heappop(heap)
            yield plan[idx].event
        if i < cases:
            seq += 1
            heapq.heappush(heap, (t0, seq, plan_case(rng, net, f"BS-{year}-{i + 1:06d}", t0), 0))


def write_events(path: str | Path, network: list[dict[str, Any]], cases: int, seed: int,
                 start: datetime, days: int = 30,
                 progress: Callable[[int], None] | None = None) -> int:
    """Write the workload as JSON Lines (UTF-8); return the number of events."""
    encode, count = json.JSONEncoder(ensure_ascii=False).encode, 0
    with open(path, "w", encoding="utf-8") as f:
        for count, event in enumerate(generate_events(network, cases, seed, start, days), 1):
            f.write(encode(event) + "\n")
            if progress and count % 10_000 == 0:
                progress(count)
    if progress and count % 10_000:
        progress(count)
    return count


def write_network(path: str | Path, network: list[dict[str, Any]]) -> None:
    """Write the network as SPEC §2 YAML."""
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(network, f, allow_unicode=True, sort_keys=False)
