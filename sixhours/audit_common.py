"""Shared parts of the `sixhours audit` commands (issue 6): the sub-app, options, the container,
and small helpers. The commands live in `audit.py`, `audit_scoring.py` and `audit_pipl.py`."""

from __future__ import annotations

from typing import Any

import typer

from projections.admin_log import AdminAction, log_action
from projections.chain_verify import EventLog
from sixhours.bootstrap import Container, utc_now

audit_app = typer.Typer(help="审计 / audit: tamper evidence, replay, what-if, data quality, "
                             "personal data", no_args_is_help=True)

def event_log(c: Container) -> EventLog:
    recorder: Any = c.service.recorder
    sqlite = c.settings.database_url.startswith("sqlite:///")
    return EventLog(recorder.events_table_name, "rowid" if sqlite else "notification_id")


def engine_url(c: Container) -> str:
    """The read models' database as SQLAlchemy names it, for child processes."""
    return c.engine.url.render_as_string(hide_password=False)


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


def log_personal_data_read(c: Container, case_id: str, what: str) -> None:
    """A personal-data read from the command line is logged like one through the API, first."""
    from projections.personal_data_reads import PersonalDataRead, log_read

    log_read(c.engine, PersonalDataRead(at=utc_now(), subject=operator(), role="cli",
                                        token_id=None, case_id=case_id, what=what))
