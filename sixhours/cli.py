"""The `sixhours` command line (SPEC §6), in Chinese by default (`--lang en` for English)."""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from domain.network import parse_points, update_network
from projections.case_view import case_view
from projections.network_store import points_used_by_events, save_network
from projections.queries import GROUPINGS, ReportRequest
from projections.read_models import status as read_model_status
from sixhours.audit_common import log_personal_data_read
from sixhours.bootstrap import Container, utc_now
from sixhours.cli_common import (
    AsOf,
    Format,
    Lang,
    PolicyOpt,
    UserError,
    container,
    err,
    parse_moment,
)
from sixhours.cli_common import check_format as _check_format
from sixhours.files import read_network
from sixhours.importer import import_files
from sixhours.render import case_tables, report_tables
from sixhours.report_csv import write_csv
from sixhours.report_sheets import (
    SPREADSHEET_FORMATS,
    binary_output,
    check_destination,
    leadership_report,
    month_period,
    point_names,
)

app = typer.Typer(help="六个一小时 法律援助服务时限监测 / Six Hours: legal-aid service-level monitor.",
                  no_args_is_help=True, rich_markup_mode=None)
network_app = typer.Typer(help="服务网络 / the service network", no_args_is_help=True)
case_app = typer.Typer(help="单个案件 / one case", no_args_is_help=True)
keys_app = typer.Typer(help="密钥 / encryption keys", no_args_is_help=True)
app.add_typer(network_app, name="network")
app.add_typer(case_app, name="case")
app.add_typer(keys_app, name="keys")




def _as_of(text: str | None) -> datetime:
    return parse_moment(text, "--as-of") or utc_now()


def _date(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{flag} {text!r} is not a date like 2026-03-01") from None


@contextmanager
def progress_bar(description: str) -> Iterator[Any]:
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"),
                  TimeRemainingColumn(), console=err, transient=True,
                  disable=not err.is_terminal) as bar:
        task = bar.add_task(description, total=None)

        def update(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=f"{description} {stage}", completed=done, total=total)
        yield update


def _catch_up(c: Container) -> None:
    with progress_bar("projection") as update:
        c.catch_up(progress=update)


@network_app.command("import")
def network_import(file: Path, lang: Lang = None) -> None:
    """导入或更新服务网络（YAML 或 CSV 文件）：可新增、改名、调整上级、撤销服务点；
    已有案件使用的服务点不能删除，只能标记 retired: true。

    Load or update the service network from a YAML or CSV file. Points used by recorded
    events cannot be removed, only retired.

    Example: sixhours network import network.yaml
    """
    with container(lang) as (c, _):
        points = parse_points(read_network(file))
        c.catch_up()
        updated, changes = update_network(c.network(), points, points_used_by_events(c.engine))
        save_network(c.engine, list(updated.points.values()), changes)
        typer.echo(json.dumps({"points": len(updated.points), **{
            k: len(v) for k, v in changes.items()}}, ensure_ascii=False))


@app.command("import")
def import_events(files: list[Path], lang: Lang = None,
                  batch: Annotated[int, typer.Option(help="events per transaction")] = 5000,
                  ) -> None:
    """导入案件事件（JSON Lines 或 CSV）。可以重复导入同一文件，已导入的事件不会重复；
    不合规的行写入 FILE.rejects.jsonl 并说明原因（规则代码），其余行照常导入。
    有行被拒绝时退出码为 1。

    Import case events. Importing a file again stores nothing twice; refused lines go to
    FILE.rejects.jsonl with the rule that refused them; exit code 1 when any line was refused.

    Example: sixhours import 2026-03.jsonl 2026-03-补录.csv
    """
    with container(lang) as (c, chosen):
        for path in files:
            if not path.is_file():
                raise UserError(f"no such file: {path}")
        c.settings.master_key()  # refuse to start without a key to seal personal data
        network = c.network()
        if not network.points:
            raise UserError("no service network yet: run `sixhours network import FILE` first")
        with progress_bar("import") as update:
            summary = import_files(files, c.service, network, now=utc_now(), lang=chosen,
                                   batch_events=batch, progress=update)
        typer.echo(json.dumps({"lines": summary.lines, "stored": summary.stored,
                               "duplicates": summary.duplicates, "refused": summary.refused,
                               "rejects": [str(p) for p in summary.rejects_files]},
                              ensure_ascii=False))
        if summary.refused:
            raise typer.Exit(1)


@app.command()
def report(
    date_from: Annotated[str | None, typer.Option("--from", help="First local date, 2026-03-01.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last local date (inclusive).")] = None,
    by: Annotated[str | None, typer.Option("--by", help=f"Group rows by: {'|'.join(GROUPINGS)}.")] = None,
    policy: PolicyOpt = None, as_of: AsOf = None,
    fmt: Annotated[str, typer.Option("--format", help="table（默认）, json, or a leadership "
                                     "spreadsheet: xlsx, csv (rows --by county by default).")
                   ] = "table",
    lang: Lang = None,
    month: Annotated[str | None, typer.Option(
        "--month", help="A calendar month instead of --from/--to, e.g. 2026-03.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="File for xlsx or csv (csv may go to standard output).")] = None,
) -> None:
    """统计期间内的六个一小时达标率、各时限达标率、满意度和案件量。
    --format xlsx|csv 输出月度领导报表（按县区、各时限、满意度、本年趋势，中文表头）。

    Compliance, satisfaction and volume for a period (local dates, both ends included);
    --format xlsx|csv writes the monthly leadership report (by county and clock, satisfaction,
    the year's trend).

    Example: sixhours report --from 2026-03-01 --to 2026-03-31 --by county
    Example: sixhours report --month 2026-03 --format xlsx --out 2026-03.xlsx
    """
    with container(lang) as (c, chosen):
        _check_format(fmt, ("table", "json", *SPREADSHEET_FORMATS))
        spreadsheet = fmt in SPREADSHEET_FORMATS
        if not spreadsheet and out is not None:
            raise UserError("--out is for --format xlsx or csv; redirect table or json output")
        first, last = _date(date_from, "--from"), _date(date_to, "--to")
        if month is not None:
            if first or last:
                raise UserError("give either --month or --from/--to, not both")
            first, last = month_period(month)
        request = ReportRequest(policy=policy or c.settings.default_policy, as_of=_as_of(as_of),
                                date_from=first, date_to=last,
                                by=by or ("county" if spreadsheet else None))
        if request.policy not in c.policies:
            raise UserError(f"unknown policy {request.policy}; known: {', '.join(c.policies)}")
        if spreadsheet:
            check_destination(out, fmt)
        _catch_up(c)
        if spreadsheet:
            from sixhours.report_xlsx import write_xlsx  # openpyxl takes 0.1 s: load it when asked

            sheets = leadership_report(c.queries.report, request,
                                       lambda grouping: point_names(c.network(), grouping))
            with binary_output(out) as stream:
                (write_xlsx if fmt == "xlsx" else write_csv)(sheets, stream, chosen)
            return
        body = c.queries.report(request)
        if fmt == "json":
            typer.echo(json.dumps(body, ensure_ascii=False, indent=1))
        else:
            report_tables(body, chosen, Console())


@case_app.command("show")
def case_show(case_id: str, policy: PolicyOpt = None, as_of: AsOf = None, fmt: Format = "table",
              lang: Lang = None,
              personal_data: Annotated[bool, typer.Option(
                  "--personal-data", help="Include the applicant's personal data (needs the key).")
              ] = False) -> None:
    """查看一个案件：各时限的状态和全部事件记录。

    One case: its clocks and its history as they stand at --as-of.

    Example: sixhours case show BS-2026-000045
    """
    with container(lang) as (c, chosen):
        _check_format(fmt)
        name = policy or c.settings.default_policy
        if name not in c.policies:
            raise UserError(f"unknown policy {name}; known: {', '.join(c.policies)}")
        if personal_data:
            log_personal_data_read(c, case_id, "case")  # before it is shown, like the API
        steps = c.service.history(case_id, unseal=personal_data)
        if not steps:
            raise UserError(f"case {case_id} has no recorded events")
        network = c.network()
        first = min(steps, key=lambda s: s.sort_key())
        view = case_view(case_id, steps, c.policies[name], _as_of(as_of), c.settings.tz,
                         network.area_of(first.data.get("service_point")),
                         personal_data=personal_data)
        if fmt == "json":
            typer.echo(json.dumps(view, ensure_ascii=False, indent=1))
        else:
            case_tables(view, chosen, Console())


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder for network.yaml and events.jsonl.")] = Path("."),
    cases: Annotated[int, typer.Option(help="How many cases.")] = 1000,
    seed: Annotated[int, typer.Option(help="Same seed, same workload.")] = 1,
    start: Annotated[str, typer.Option(help="First day of applications.")] = "2026-03-01",
    days: Annotated[int, typer.Option(help="Days over which applications arrive.")] = 30,
) -> None:
    """生成模拟的服务网络和案件事件（用于测试、演示和性能测试）。

    Write a synthetic Baoshan-like network and case events, for tests, demos and benchmarks.
    """
    from zoneinfo import ZoneInfo

    from sixhours import workload

    out.mkdir(parents=True, exist_ok=True)
    network = workload.baoshan_network(seed)
    workload.write_network(out / "network.yaml", network)
    begin = datetime.combine(date.fromisoformat(start), datetime.min.time(),
                             ZoneInfo("Asia/Shanghai"))
    with progress_bar("generate") as update:
        count = workload.write_events(out / "events.jsonl", network, cases, seed, begin, days,
                                      progress=lambda n: update("events", n, None))
    typer.echo(json.dumps({"network": str(out / "network.yaml"),
                           "events": str(out / "events.jsonl"), "count": count}))


projections_app = typer.Typer(help="读模型 / read models (projections)", no_args_is_help=True)
app.add_typer(projections_app, name="projections")


@projections_app.command("status")
def projections_status(lang: Lang = None) -> None:
    """读模型的版本和进度：处理到第几条事件、还差多少。

    Which read-model version reads use, which one is being built, and how far behind each is.
    """
    with container(lang) as (c, _):
        head = c.service.recorder.max_notification_id() or 0
        typer.echo(json.dumps(read_model_status(c.engine, head), ensure_ascii=False, indent=1))


@projections_app.command("rebuild")
def projections_rebuild(
    lang: Lang = None,
    batch: Annotated[int, typer.Option(help="events per transaction")] = 5000,
) -> None:
    """从第一条事件起重建读模型：新版本在旧版本旁边建立，追平后切换，期间照常可查询。

    Rebuild the read model from the first event beside the current one; reads switch to it
    once it has caught up, and keep working meanwhile. Shows progress and the time left.
    """
    with container(lang) as (c, _), progress_bar("projection") as update:
        c.catch_up(progress=update, rebuild=True, batch=batch)
        head = c.service.recorder.max_notification_id() or 0
        typer.echo(json.dumps(read_model_status(c.engine, head), ensure_ascii=False, indent=1))


@app.command()
def worker(lang: Lang = None) -> None:
    """持续更新读模型（新事件一秒内可见）；收到 SIGTERM 或 Ctrl-C 时处理完当前批次后退出。

    Keep the read models live until SIGTERM or Ctrl-C; the batch in hand finishes first, and
    the next start resumes where this one stopped.
    """
    with container(lang) as (c, _):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: _set_soon(stop))
        err.print("worker: running (SIGTERM to stop)")
        # issue 5: alerts and /metrics beside the projections, as settings ask for them
        from sixhours.monitoring import monitors_running
        with monitors_running(c):
            c.run_worker(stop)
        err.print("worker: stopped")


def _set_soon(event: threading.Event) -> None:
    """Set the event from a new thread: a signal handler runs on the main thread between two
    bytecodes, possibly while that thread holds the event's own lock inside `event.wait()`, and
    `set()` there would wait for itself for ever."""
    threading.Thread(target=event.set, name="stop-on-signal", daemon=True).start()


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new random master key for SIXHOURS_SECRET_KEY (keep it safe: it unlocks
    personal data)."""
    typer.echo(base64.b64encode(os.urandom(32)).decode())


# The HTTP API (issue 4): `serve`, and `tokens issue` for its bearer tokens.
from sixhours import monitoring as _monitoring  # noqa: E402 - registered after the commands above
from sixhours import serve as _serve  # noqa: E402 - registered after the commands above

tokens_app = typer.Typer(help="API 令牌 / bearer tokens for the HTTP API", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
app.command("serve")(_serve.serve)
tokens_app.command("issue")(_serve.tokens_issue)
app.add_typer(_monitoring.alerts_app, name="alerts")  # issue 5: generated rules and configs

from sixhours.audit import audit_app  # noqa: E402 - issue 6, registered after the commands above

app.add_typer(audit_app, name="audit")

from sixhours.users import users_app  # noqa: E402 - issue 7, registered after the commands above

app.add_typer(users_app, name="users")

from sixhours.dashboards_cli import dashboards_app  # noqa: E402 - issue 8, registered after the commands above

app.add_typer(dashboards_app, name="dashboards")

from sixhours.demo_live import demo_app  # noqa: E402 - issue 8, registered after the commands above

app.add_typer(demo_app, name="demo")


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="sixhours")


if __name__ == "__main__":  # pragma: no cover
    main()
