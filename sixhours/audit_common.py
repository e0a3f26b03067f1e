"""Shared parts of the `sixhours audit` commands (issue 6): the sub-app, options, the container,
and small helpers. The commands live in `audit.py`, `audit_scoring.py` and `audit_pipl.py`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from domain.calendar import CalendarYearUnknown
from domain.policy import PolicyError
from projections.admin_log import AdminAction, log_action
from projections.chain_verify import EventLog
from sixhours.bootstrap import Container, build, utc_now
from sixhours.settings import MissingSecretKey, Settings

audit_app = typer.Typer(help="审计 / audit: tamper evidence, replay, what-if, data quality, "
                             "personal data", no_args_is_help=True)
err = Console(stderr=True)

Lang = Annotated[str | None, typer.Option("--lang", help="zh (默认) or en; or SIXHOURS_LANG.")]
Format = Annotated[str, typer.Option("--format", help="table（表格，默认）or json.")]


class AuditError(Exception):
    """Bad input on the command line: shown as one line, exit code 2."""


@contextmanager
def audit_container(lang: str | None) -> Iterator[tuple[Container, str]]:
    try:
        settings = Settings()
    except ValueError as error:
        err.print(f"[red]settings: {error}[/]")
        raise typer.Exit(2) from None
    c = build(settings)
    try:
        yield c, lang or settings.lang
    except (AuditError, PolicyError, MissingSecretKey, CalendarYearUnknown, ValueError) as error:
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    finally:
        c.close()


def event_log(c: Container) -> EventLog:
    recorder: Any = c.service.recorder
    sqlite = c.settings.database_url.startswith("sqlite:///")
    return EventLog(recorder.events_table_name, "rowid" if sqlite else "notification_id")


def engine_url(c: Container) -> str:
    """The read models' database as SQLAlchemy names it, for child processes."""
    return c.engine.url.render_as_string(hide_password=False)


def parse_moment(text: str | None, flag: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise AuditError(f"{flag} {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise AuditError(f"{flag} {text!r} needs a UTC offset, e.g. +08:00")
    return moment


def check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise AuditError(f"--format must be table or json, not {fmt!r}")


def echo_json(body: Any) -> None:
    typer.echo(json.dumps(body, ensure_ascii=False, indent=1))


def record_admin(c: Container, action: str, target: str | None = None,
                 detail: dict[str, Any] | None = None) -> None:
    """Every admin action is written to the audit log before it is reported done."""
    log_action(c.engine, AdminAction(at=utc_now(), actor=operator(), action=action,
                                     target=target, detail=detail or {}))


def operator() -> str:
    import getpass
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli:unknown"


Policy = Annotated[str | None, typer.Option(
    "--policy", help="six-hours (default) or statutory, or a policy from SIXHOURS_POLICY_FILES.")]


def log_personal_data_read(c: Container, case_id: str, what: str) -> None:
    """A personal-data read from the command line is logged like one through the API, first."""
    from projections.personal_data_reads import PersonalDataRead, create_table, log_read

    create_table(c.engine)
    log_read(c.engine, PersonalDataRead(at=utc_now(), subject=operator(), role="cli",
                                        token_id=None, case_id=case_id, what=what))
