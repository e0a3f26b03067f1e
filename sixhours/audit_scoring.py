"""`sixhours audit what-if` and `sixhours audit quality` (issue 6)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sixhours.audit_common import audit_app, engine_url, record_admin
from sixhours.bootstrap import Container, utc_now
from sixhours.cli_common import Format, Lang, check_format, echo_json, parse_moment
from sixhours.cli_common import UserError as AuditError
from sixhours.cli_common import container as audit_container

# --- what-if re-scoring ----------------------------------------------------------------------


@audit_app.command("what-if")
def what_if_command(
    policy: Annotated[str | None, typer.Option(
        "--policy", help="Re-score under this policy (statutory, or one of "
                         "SIXHOURS_POLICY_FILES).")] = None,
    policy_files: Annotated[list[Path] | None, typer.Option(
        "--policy-file", help="Re-score under the policy in this YAML file; give several "
                              "versions of one policy, each with effective_from, to score "
                              "each case under the version in effect when it was received.")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluation time; default now.")
                     ] = None,
    level: Annotated[str, typer.Option("--by", help="Compare per service point at this level."
                                       )] = "county",
    cases: Annotated[int, typer.Option("--cases", help="Changed cases to list.")] = 20,
    fmt: Format = "table", lang: Lang = None,
) -> None:
    """假设分析：用另一套标准（或按生效日期的各版本）重新评定全部历史案件，与现行结果并列保存
    （不覆盖），并按案件和按县区比较差异。

    What-if: re-score all history under another policy (or its versions by effective date)
    beside the current scores, never overwriting them; print the per-county and per-case diff.

    Example: sixhours audit what-if --policy statutory
             sixhours audit what-if --policy-file six-hours-urban30.yaml
    """
    from domain.network import LEVELS
    from projections.what_if import WhatIf, rescore
    from sixhours.audit_render import what_if_tables

    with audit_container(lang) as (c, chosen):
        check_format(fmt)
        if level not in LEVELS:
            raise AuditError(f"--by must be one of {', '.join(LEVELS)}")
        alternative = _what_if_policy(c, policy, policy_files or [])
        base = c.policies[c.settings.default_policy]
        c.catch_up()
        moment = parse_moment(as_of, "--as-of") or utc_now()
        body = rescore(c.engine, c.active_tables(), c.network(),
                       WhatIf(alternative, base, base.name, moment, c.settings.tz, level),
                       url=engine_url(c), workers=c.settings.build_workers, now=utc_now)
        if cases != 20:
            from projections.what_if import run_summary
            body = run_summary(c.engine, body["run_id"], c.settings.tz, changed_cases=cases)
        record_admin(c, "audit.what_if", None, {"run_id": body["run_id"],
                                                "policy": body["policy"]})
        if fmt == "json":
            echo_json(body)
        else:
            what_if_tables(body, chosen, Console())


def _what_if_policy(c: Container, name: str | None, files: list[Path]) -> Any:
    from domain.policy import policy_from_mapping
    from domain.policy_versions import PolicyVersions, effective_from
    from sixhours.files import read_yaml

    if name is None and not files:
        raise AuditError("give --policy NAME, or --policy-file FILE (one or more versions), or "
                         "both: the named policy then applies until the files' effective dates")
    if name is not None and name not in c.policies:
        raise AuditError(f"unknown policy {name}; known: {', '.join(c.policies)}")
    if name is not None and not files:
        return c.policies[name]
    dated: list[tuple[Any, Any]] = [(None, c.policies[name])] if name is not None else []
    for path in files:
        raw = read_yaml(path)
        dated.append((effective_from(raw), policy_from_mapping(raw, c.calendar)))
    if len(dated) == 1 and dated[0][0] is None:  # one version for all history
        return dated[0][1]
    return PolicyVersions.of(dated)


# --- data quality ----------------------------------------------------------------------------


@audit_app.command("quality")
def quality_command(
    date_from: Annotated[str | None, typer.Option("--from", help="Cases received from this "
                                                  "local date, 2026-03-01.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="... to this one (inclusive).")
                       ] = None,
    level: Annotated[str, typer.Option("--by", help="Service points grouped at this level.")
                     ] = "county",
    clerks: Annotated[bool, typer.Option("--clerks/--no-clerks", help="Include the per-clerk "
                                         "section (report only; never in metrics).")] = True,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Evaluation time; default now.")
                     ] = None,
    fmt: Format = "table", lang: Lang = None,
) -> None:
    """数据质量：记录滞后、临近时限才记录的异常集中、成批更正、超时后撤回、回访始终未接通，
    按服务点和按经办人列出。

    Data-quality signals per service point and per clerk: recording lag, steps recorded just
    inside their deadline far more often than chance, clusters of corrections, withdrawals after
    a breach, follow-up calls never reached.

    Example: sixhours audit quality --from 2026-01-01 --to 2026-03-31
    """
    from datetime import date, time, timedelta

    from domain.network import LEVELS
    from projections.data_quality import assess, stored_histories
    from sixhours.audit_render import quality_tables

    with audit_container(lang) as (c, chosen):
        check_format(fmt)
        if level not in LEVELS:
            raise AuditError(f"--by must be one of {', '.join(LEVELS)}")
        tz = c.settings.tz
        try:
            lo = date.fromisoformat(date_from) if date_from else None
            hi = date.fromisoformat(date_to) if date_to else None
        except ValueError as error:
            raise AuditError(f"--from/--to: {error}") from None
        received = None
        if lo or hi:
            received = (datetime.combine(lo or date(1970, 1, 1), time(0), tz),
                        datetime.combine((hi or date(9998, 12, 31)) + timedelta(days=1), time(0),
                                         tz))
        c.catch_up()
        network = c.network()
        moment = parse_moment(as_of, "--as-of") or utc_now()
        quality = assess(stored_histories(c.engine, c.active_tables()),
                         c.policies[c.settings.default_policy], moment, tz, network.area_of,
                         lambda point: network.key_at_level(point, level), received)
        body = {"as_of": moment.astimezone(tz).isoformat(), "level": level,
                "from": lo.isoformat() if lo else None, "to": hi.isoformat() if hi else None,
                **quality.as_json(clerks=clerks)}
        if fmt == "json":
            echo_json(body)
        else:
            quality_tables(body, chosen, Console())
