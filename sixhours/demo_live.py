"""`sixhours demo live`: a live demo workload, posted to the running HTTP API in real time.

New applications arrive at random open service points of the stored network, one every
`--every` seconds on average (a Poisson stream). Each case is planned whole by the deterministic
generator (`workload.plan_case`) when it arrives, and each step is posted when a clerk would
write it down: at its planned recording time, never before the case's previous step, since the
API refuses a step older than the case's latest one. `occurred_at` is the planned business time,
so it is never in the future; the server stamps `recorded_at` and ingestion.

Time is not compressed: a faster clock would shorten every measured step and hide the warnings
and overdue steps the demo is there to show. Instead `--backlog` starts cases that arrived in the
past hours; their steps already due are recorded late at start-up, so the network looks
lived-in at once (running clocks, warnings, closures and follow-up calls within minutes).
"""

from __future__ import annotations

import heapq
import json
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from api.auth import Principal, Role
from sixhours.cli_common import Lang, UserError, container, err
from sixhours.demo_api import ServerUnavailable, StepApi, TokenRefused
from sixhours.serve import MissingTokenKeys, keyring
from sixhours.settings import Settings
from sixhours.workload import Intake, PlannedEvent, plan_case

demo_app = typer.Typer(help="演示 / demonstrations", no_args_is_help=True)

SUBJECT = "demo-live"  # the staff id the demo's token speaks for
TOKEN_SECONDS = 8 * 3600
RETRY_SECONDS = 2.0
TEXTS = {"started": ("已开始案件", "cases started"), "posted": ("已提交步骤", "steps posted"),
         "refused": ("被拒绝", "refused"), "in_flight": ("进行中案件", "cases in flight"),
         "unavailable": ("服务暂不可用，稍后重试", "the API is not answering; retrying")}


class CaseIds:
    """Case ids `LIVE-YYYYMMDD-NNNNNN` by local arrival date, never one already stored: the
    numbering of a date resumes after earlier runs' cases, found by asking the API."""

    def __init__(self, exists: Callable[[str], bool]) -> None:
        self._exists = exists
        self._next: dict[str, int] = {}

    def allocate(self, day: date) -> str:
        key = day.strftime("%Y%m%d")
        number = self._next[key] if key in self._next else self._first_free(key)
        while self._exists(_case_id(key, number)):  # a case an earlier run started late
            number += 1
        self._next[key] = number + 1
        return _case_id(key, number)

    def _first_free(self, key: str) -> int:
        # Runs number their cases densely from 1: double, then halve, to the first gap.
        taken, free = 0, 1
        while self._exists(_case_id(key, free)):
            taken, free = free, free * 2
        while free - taken > 1:
            middle = (taken + free) // 2
            taken, free = (middle, free) if self._exists(_case_id(key, middle)) else (taken, middle)
        return free


def _case_id(key: str, number: int) -> str:
    return f"LIVE-{key}-{number:06d}"


@dataclass
class CaseRun:
    """One case in flight: its plan and how many of its steps are posted."""

    plan: list[PlannedEvent]
    posted: int = 0


class LiveWorkload:
    """Arrivals and the due steps of the cases in flight, one action at a time."""

    def __init__(self, api: StepApi, intake: Intake, rng: random.Random, tz: ZoneInfo,
                 every: float, now_ms: Callable[[], int], refused: Callable[[str], None],
                 journal: IO[str] | None = None) -> None:
        self.api, self.intake, self.rng, self.tz = api, intake, rng, tz
        self.every_ms, self.now_ms, self.refused, self.journal = every * 1000, now_ms, refused, journal
        self.ids = CaseIds(api.case_exists)
        self.started = self.posted = 0  # cases whose application was accepted; accepted steps
        self.refusals: Counter[str] = Counter()  # by rule code
        self.due: list[tuple[int, int, CaseRun]] = []  # (post at, tie-break, case)
        self.backlog: list[int] = []
        self.next_arrival = now_ms()
        self._seq = 0

    def add_backlog(self, cases: int, hours: float) -> None:
        """`cases` applications spread over the past `hours`, the oldest first."""
        span, end = int(hours * 3_600_000), self.now_ms()
        self.backlog = [end - span + int((k + self.rng.random()) / cases * span)
                        for k in range(cases)]

    def act(self) -> float:
        """Start a case or post a step if one is due (0); else the seconds until one is."""
        now = self.now_ms()
        arrival = self.backlog[0] if self.backlog else self.next_arrival
        step_at = self.due[0][0] if self.due else None
        if arrival <= now and (step_at is None or arrival <= step_at):
            self._start(arrival)
            return 0.0
        if step_at is not None and step_at <= now:
            self._post()
            return 0.0
        return (min(arrival, step_at if step_at is not None else arrival) - now) / 1000

    def _start(self, t0: int) -> None:
        case_id = self.ids.allocate(datetime.fromtimestamp(t0 / 1000, self.tz).date())
        if self.backlog:
            self.backlog.pop(0)
        else:
            self.next_arrival = t0 + max(int(self.rng.expovariate(1 / self.every_ms)), 1)
        plan = plan_case(self.rng, self.intake, case_id, t0)
        self._schedule(plan[0].recorded_ms, CaseRun(plan))

    def _schedule(self, at: int, run: CaseRun) -> None:
        self._seq += 1
        heapq.heappush(self.due, (at, self._seq, run))

    def _post(self) -> None:
        at, _, run = self.due[0]
        event = {k: v for k, v in run.plan[run.posted].event.items() if k != "recorded_at"}
        status, answer = self.api.post_step(event)  # raises before anything moves
        heapq.heappop(self.due)
        accepted = status in (200, 201)  # 200: a retried post, recorded the first time
        rule = None if accepted else str(answer.get("rule") or answer.get("code") or status)
        self._note(event, status, rule)
        if not accepted:
            # The case's later steps would only be refused in turn: it stops here.
            self.refusals[rule or ""] += 1
            self.refused(f"{rule}: {event['type']} — {answer.get('detail') or event['event_id']}")
            return
        self.posted += 1
        self.started += event["type"] == "application_received"
        run.posted += 1
        if run.posted < len(run.plan):
            self._schedule(max(at, run.plan[run.posted].recorded_ms), run)

    def _note(self, event: dict[str, Any], status: int, rule: str | None) -> None:
        if self.journal is not None:
            self.journal.write(json.dumps({"event_id": event["event_id"], "case_id": event["case_id"],
                                           "type": event["type"], "status": status, "rule": rule}) + "\n")
            self.journal.flush()


def _say(line: str) -> None:
    err.print(line, markup=False, soft_wrap=True)  # text from the server is not Rich markup


def _text(key: str, lang: str) -> str:
    zh, en = TEXTS[key]
    return zh if lang.startswith("zh") else en


def _status_line(workload: LiveWorkload, lang: str) -> str:
    w = workload
    return (f"{_text('started', lang)} {w.started} · {_text('posted', lang)} {w.posted} · "
            f"{_text('refused', lang)} {sum(w.refusals.values())} · "
            f"{_text('in_flight', lang)} {len(workload.due)}")


def _token_source(settings: Settings, root: str) -> Callable[[], str]:
    """A clerk token of the network's root (it records anywhere), renewed at half its life."""
    ring = keyring(settings)
    held: tuple[str, float] | None = None

    def token() -> str:
        nonlocal held
        if held is None or time.time() > held[1]:
            held = (ring.issue(Principal(SUBJECT, Role.clerk, root), TOKEN_SECONDS),
                    time.time() + TOKEN_SECONDS / 2)
        return held[0]
    return token


class StopSignals:
    """SIGTERM and Ctrl-C as a flag. The handler only sets it: taking a lock there, as
    threading.Event.set does, deadlocks when the signal lands while this thread holds it."""

    def __init__(self) -> None:
        self.stopped = False
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)

    def _stop(self, *_: object) -> None:
        self.stopped = True

    def pause(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking within a tenth of a second of a stop."""
        deadline = time.monotonic() + seconds
        while not self.stopped and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))


def _run(workload: LiveWorkload, stop: StopSignals, show: Callable[[str], None],
         lang: str) -> None:
    outage = False
    while not stop.stopped:
        try:
            wait = workload.act()
        except ServerUnavailable as error:
            if not outage:  # once per outage, not once per retry
                _say(f"{_text('unavailable', lang)}: {error}")
            outage = True
            stop.pause(RETRY_SECONDS)
            continue
        outage = False
        show(_status_line(workload, lang))
        if wait > 0:
            stop.pause(wait)


@demo_app.command("live")
def live(
    url: Annotated[str, typer.Option(help="地址 / the running API (sixhours serve).")]
    = "http://127.0.0.1:8000",
    every: Annotated[float, typer.Option(
        min=0.01, help="平均每隔几秒收到一个新申请 / average seconds between new applications.")]
    = 5.0,
    backlog: Annotated[int, typer.Option(
        min=0, help="开始时补录过去 --backlog-hours 小时内收到的案件数 / cases that arrived in "
                    "the past --backlog-hours, their due steps recorded late at start-up.")] = 0,
    backlog_hours: Annotated[float, typer.Option(
        min=0.1, help="补录的时间跨度（小时）/ how far back the backlog reaches.")] = 24.0,
    seed: Annotated[int, typer.Option(help="同一种子，同样的案件 / same seed, same cases.")] = 1,
    journal: Annotated[Path | None, typer.Option(
        help="每个提交的步骤记一行 JSON（编号、类型、状态、规则代码）/ one JSON line per posted "
             "step: ids, type, HTTP status, rule code.")] = None,
    lang: Lang = None,
) -> None:
    """演示用：按真实时间向正在运行的服务持续提交模拟案件的各个步骤。

    \b
    每隔几秒，网络中随机的服务点收到一个新申请；
    此后审查、受理指派、会见、结案、回访等步骤到时逐条提交，计时随之走动，有的进入预警或超时。
    案件编号为 LIVE-日期-序号。被拒绝的步骤显示规则代码并计数，不会中断。
    按 Ctrl-C（或 SIGTERM）停止。只能在演示模式（SIXHOURS_DEV_MODE=1）下运行，切勿用于真实数据。

    Demo only: keep posting the steps of simulated cases to the running API in real time. A
    new application arrives every few seconds at a random service point; its later steps
    (review, assignment, meeting, closure, follow-up call) are posted when their time comes,
    so clocks run and some go into warning or overdue. Case ids are LIVE-date-number. A
    refused step is shown with its rule code and counted; Ctrl-C or SIGTERM stops. Runs only
    with SIXHOURS_DEV_MODE=1: never against real data.

    Example: sixhours demo live --url http://127.0.0.1:8000 --backlog 200
    """
    with container(lang) as (c, chosen):
        settings = c.settings
        if not settings.dev_mode:
            raise UserError("the live demo writes fictitious cases: it runs only with "
                            "SIXHOURS_DEV_MODE=1, never against a store with real cases")
        network = c.network()
        roots = [p.id for p in network.points.values() if p.parent is None]
        if not roots:
            raise UserError("no service network yet: run `sixhours network import FILE` first")
        intake = Intake([{"id": p.id, "level": p.level, "kind": p.kind, "area": p.area,
                          "retired": p.retired} for p in network.points.values()], seed)
        try:
            api = StepApi(url, _token_source(settings, roots[0]), chosen)
        except MissingTokenKeys as error:
            raise UserError(str(error)) from None
    stop = StopSignals()
    log = journal.open("a", encoding="utf-8") if journal is not None else None
    workload = LiveWorkload(
        api, intake, random.Random(seed), settings.tz, every, lambda: time.time_ns() // 1_000_000,
        lambda line: _say(f"{_text('refused', chosen)} {line}"), log)
    try:
        if backlog:
            workload.add_backlog(backlog, backlog_hours)
        with err.status(_status_line(workload, chosen)) as status:
            _run(workload, stop, lambda line: status.update(line), chosen)
    except TokenRefused as error:
        _say(f"the API refused the demo's token ({error}): start it with the same "
             "SIXHOURS_API_KEYS (or SIXHOURS_DEV_MODE) as the server")
        raise typer.Exit(2) from None
    finally:
        api.close()
        if log is not None:
            log.close()
    w = workload
    typer.echo(json.dumps({"seed": seed, "cases_started": w.started, "steps_posted": w.posted,
                           "refused": sum(w.refusals.values()), "refusals": dict(w.refusals),
                           "cases_in_flight": len(w.due)}))
