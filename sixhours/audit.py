"""`sixhours audit …` (issue 6): tamper evidence, bitemporal replay and reports, published
months; what-if and data quality (`audit_scoring.py`); the personal-data lifecycle
(`audit_pipl.py`). Each command wires parts built by the composition root."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from projections.chain_verify import verify_chain
from projections.hash_chain import anchors, extend_chain, head_at
from projections.tables import to_us
from sixhours.audit_common import audit_app, engine_url, event_log, log_personal_data_read, record_admin
from sixhours.bootstrap import Container, utc_now
from sixhours.cli_common import Format, Lang, check_format, echo_json, parse_moment
from sixhours.cli_common import PolicyOpt as Policy
from sixhours.cli_common import UserError as AuditError
from sixhours.cli_common import container as audit_container

__all__ = ["audit_app", "event_log"]


# --- tamper evidence -------------------------------------------------------------------------


@audit_app.command("chain")
def chain_command(lang: Lang = None) -> None:
    """把新事件接入哈希链并显示链头（worker 平时会自动做）。

    Chain every stored event not chained yet and print the head: the hash of the whole event
    range, to write down somewhere else (see `audit anchor`).
    """
    with audit_container(lang) as (c, _):
        done = extend_chain(c.engine, c.service.recorder)
        with c.engine.connect() as conn:
            head = head_at(conn)
        echo_json({"chained": done.processed, **head.as_json()})


@audit_app.command("verify")
def verify_command(
    lang: Lang = None, fmt: Format = "table",
    extend: Annotated[bool, typer.Option(
        "--extend/--no-extend", help="Chain new events first (default), or check only what "
                                     "was chained already.")] = True,
) -> None:
    """校验哈希链：逐条对存储的原始字节计算哈希，指出第一条被改动的事件。退出码 1 表示发现篡改。

    Check every stored event against the hash chain (the stored bytes, undecoded) and name the
    first altered, deleted or inserted event. Exit code 1 when anything does not match.

    Example: sixhours audit verify --format json
    """
    with audit_container(lang) as (c, chosen):
        check_format(fmt)
        if extend:
            extend_chain(c.engine, c.service.recorder)
        result = verify_chain(c.engine, event_log(c), url=engine_url(c),
                              workers=c.settings.build_workers)
        body = result.as_json()
        if fmt == "json":
            echo_json(body)
        else:
            from sixhours.audit_render import verification_table
            verification_table(body, chosen, Console())
        if not result.ok:
            raise typer.Exit(1)


@audit_app.command("anchor")
def anchor_command(
    note: Annotated[str, typer.Option(help="What the head is written down for.")] = "anchor",
    lang: Lang = None,
) -> None:
    """记下当前链头（同时请在系统之外保存一份），以后若历史被整体改写，校验会发现。

    Write down the chain's current head (keep the printed copy outside the system too): a
    history rewritten consistently up to it no longer reaches it.
    """
    with audit_container(lang) as (c, _):
        extend_chain(c.engine, c.service.recorder)
        with c.engine.begin() as conn:
            head = head_at(conn)
            if head.through:
                conn.execute(anchors.insert().values(
                    notification_id=head.through, link=head.link, made_at_us=to_us(utc_now()),
                    what=note))
        record_admin(c, "audit.anchor", None, head.as_json())
        echo_json(head.as_json())


# --- bitemporal replay -----------------------------------------------------------------------

@audit_app.command("replay")
def replay_command(
    case_id: str,
    known_at: Annotated[str | None, typer.Option(
        "--as-known-at", help="Only events stored (ingested) by then, e.g. "
                              "2026-03-02T12:00:00+08:00. Default: everything stored.")] = None,
    happened_at: Annotated[str | None, typer.Option(
        "--as-happened-at", help="Evaluate at this business time: events that occurred by "
                                 "then, corrections applied. Default: --as-known-at, else now.")
    ] = None,
    policy: Policy = None, fmt: Format = "table", lang: Lang = None,
    personal_data: Annotated[bool, typer.Option(
        "--personal-data", help="Include the applicant's data (needs the key; the read is "
                                "logged).")] = False,
) -> None:
    """按时间回放一个案件：截至某时“已发生”的情况（含更正），或截至某时“已知”（已入库）的情况，
    并逐步显示各时限的变化。

    Replay one case bitemporally: as it happened by a business time (corrections applied), or as
    it was known by a storage time (later records and corrections left out), with a step-by-step
    timeline of its clocks.

    Example: sixhours audit replay BS-2026-000045 --as-known-at 2026-03-02T12:00:00+08:00
    """
    from domain.replay import NothingKnownYet
    from projections.replay_view import replay_view
    from sixhours.audit_render import replay_tables

    with audit_container(lang) as (c, chosen):
        check_format(fmt)
        name = policy or c.settings.default_policy
        if name not in c.policies:
            raise AuditError(f"unknown policy {name}; known: {', '.join(c.policies)}")
        known = parse_moment(known_at, "--as-known-at")
        as_of = parse_moment(happened_at, "--as-happened-at") or known or utc_now()
        if personal_data:
            log_personal_data_read(c, case_id, "replay")
        steps = c.service.history(case_id, unseal=personal_data)
        if not steps:
            raise AuditError(f"case {case_id} has no recorded events")
        first = min(steps, key=lambda s: s.sort_key())
        area = c.network().area_of(first.data.get("service_point"))
        try:
            view = replay_view(case_id, steps, c.policies[name], c.settings.tz, area, as_of=as_of,
                               known_at=known, personal_data=personal_data)
        except NothingKnownYet as error:
            raise AuditError(str(error)) from None
        if fmt == "json":
            echo_json(view)
        else:
            replay_tables(view, chosen, Console())


# --- published reports -----------------------------------------------------------------------

Month = Annotated[str, typer.Option("--month", help="The month, e.g. 2026-03.")]


def _month_report(c: Container, month: str, policy: str | None, as_of: datetime) -> Any:
    from datetime import date, timedelta

    from projections.queries import ReportRequest

    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise AuditError(f"--month {month!r} is not a month like 2026-03") from None
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    name = policy or c.settings.default_policy
    if name not in c.policies:
        raise AuditError(f"unknown policy {name}; known: {', '.join(c.policies)}")
    c.catch_up()
    extend_chain(c.engine, c.service.recorder)
    return c.queries.report(ReportRequest(policy=name, as_of=as_of, date_from=first,
                                          date_to=last))


@audit_app.command("publish")
def publish_command(month: Month, policy: Policy = None, lang: Lang = None) -> None:
    """发布月报：冻结当月统计结果及其来源（事件链头、标准版本、代码版本），以后可对比变化。

    Publish a month's report: its figures frozen with their provenance (chain head, policy
    version, code version); `audit changes` later shows what moved since, and why.
    """
    from projections.publications import publish

    with audit_container(lang) as (c, _):
        now = utc_now()
        body = _month_report(c, month, policy, now)
        number = publish(c.engine, month, body, now)
        record_admin(c, "report.publish", month, {"publication": number,
                                                  "policy": body["provenance"]["policy"]})
        echo_json({"publication": number, "period": month, "as_of": body["as_of"],
                   "provenance": body["provenance"]})


@audit_app.command("changes")
def changes_command(month: Month, policy: Policy = None, lang: Lang = None) -> None:
    """对比已发布的月报与现在重新计算的结果，列出变化的数字及原因（补录、更正）。

    Compare a published month with the same report run now: the figures that changed, and the
    steps stored since publication that explain them (late records, corrections).
    """
    from domain.service import step_from_event
    from projections.publications import figure_changes, latest_publication, reasons

    with audit_container(lang) as (c, _):
        name = policy or c.settings.default_policy
        published = latest_publication(c.engine, month, f"{name}@{c.policies[name].version}"
                                       if name in c.policies else name)
        if published is None:
            raise AuditError(f"no published report for {month} under {name}")
        now_body = _month_report(c, month, policy, utc_now())
        after, stored = published["through_notification"], []
        while True:
            batch = c.notifications.read(after, 5000)
            if not batch:
                break
            stored += [step_from_event(event) for _, event in batch]
            after = batch[-1][0]
        echo_json({"period": month, "publication": published["id"],
                   "published_at": published["published_at"].astimezone(c.settings.tz)
                   .isoformat(), "published_provenance": published["body"]["provenance"],
                   "provenance": now_body["provenance"],
                   "changes": figure_changes(published["body"], now_body),
                   "why": reasons(stored, published["published_at"])})


@audit_app.command("report")
def report_command(
    known_at: Annotated[str, typer.Option(
        "--as-known-at", help="Only events stored (ingested) by then.")],
    date_from: Annotated[str | None, typer.Option("--from", help="First local date.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last local date (inclusive).")
                       ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Group rows by a level, group, channel "
                                           "or category.")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Evaluation time (as happened); default --as-known-at.")] = None,
    policy: Policy = None, fmt: Format = "table", lang: Lang = None,
) -> None:
    """按“截至某时已知”回放整份统计报表：只计入当时已入库的事件。

    The report as the system knew it at a time: only the events stored by then, evaluated at
    --as-of (default: that same time). `sixhours report --as-of` is the "as happened" one.
    """
    from datetime import date

    from projections.queries import ReportRequest
    from sixhours.render import report_tables

    with audit_container(lang) as (c, chosen):
        check_format(fmt)
        known = parse_moment(known_at, "--as-known-at")
        assert known is not None
        try:
            lo = date.fromisoformat(date_from) if date_from else None
            hi = date.fromisoformat(date_to) if date_to else None
        except ValueError as error:
            raise AuditError(f"--from/--to: {error}") from None
        name = policy or c.settings.default_policy
        if name not in c.policies:
            raise AuditError(f"unknown policy {name}; known: {', '.join(c.policies)}")
        c.catch_up()
        body = c.queries.report(ReportRequest(
            policy=name, as_of=parse_moment(as_of, "--as-of") or known, date_from=lo,
            date_to=hi, by=by, known_at=known))
        if fmt == "json":
            echo_json(body)
        else:
            report_tables(body, chosen, Console())


# The other commands register themselves on the same sub-app.
from sixhours import audit_pipl, audit_scoring  # noqa: E402, F401
