"""What every `sixhours` command shares: the options, the container a command runs in, and how
bad input is told (one line, exit code 2). The command modules (`cli`, `audit*`) import these."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from domain.calendar import CalendarYearUnknown
from domain.network import NetworkError
from domain.policy import PolicyError
from sixhours.bootstrap import Container, build
from sixhours.settings import MissingSecretKey, Settings

err = Console(stderr=True)

Lang = Annotated[str | None, typer.Option("--lang", help="zh (默认) or en; or SIXHOURS_LANG.")]
AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="Evaluation time, ISO 8601 with offset, e.g. 2026-03-31T18:00:00+08:00. "
                    "Default: now.")]
PolicyOpt = Annotated[str | None, typer.Option(
    "--policy", help="six-hours (default) or statutory, or a policy from SIXHOURS_POLICY_FILES.")]
Format = Annotated[str, typer.Option("--format", help="table（表格，默认）or json.")]


class UserError(Exception):
    """Bad input from the command line: shown as one line, exit code 2."""


@contextmanager
def container(lang: str | None) -> Iterator[tuple[Container, str]]:
    try:
        settings = Settings()
    except ValueError as error:
        err.print(f"[red]settings: {error}[/]")
        raise typer.Exit(2) from None
    chosen = lang or settings.lang
    c = build(settings)
    try:
        yield c, chosen
    except (UserError, NetworkError, PolicyError, MissingSecretKey, CalendarYearUnknown,
            ValueError) as error:
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    finally:
        c.close()


def parse_moment(text: str | None, flag: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{flag} {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UserError(f"{flag} {text!r} needs a UTC offset, e.g. +08:00")
    return moment


def check_format(fmt: str, allowed: tuple[str, ...] = ("table", "json")) -> None:
    if fmt not in allowed:
        raise UserError(f"--format must be {' or '.join(allowed)}, not {fmt!r}")


def echo_json(body: Any) -> None:
    typer.echo(json.dumps(body, ensure_ascii=False, indent=1))
