"""`sixhours users`: the staff accounts that log in to the web pages (issue 7).

An account carries what a token would: a role, for clerks and supervisors the service point
whose subtree they act on, and for clerks and auditors optionally the personal-data grant. The
same claim checks as `sixhours tokens issue` apply, and the service point must be in the network.
The password is asked for twice without echo, or read from standard input for scripts; the
account's creation is written to the admin audit log in the same transaction.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from api.auth import Principal, Role, check_claims
from projections.accounts import Account, AccountError, add_account, list_accounts
from sixhours.audit_common import operator
from sixhours.bootstrap import build, utc_now
from sixhours.settings import Settings

users_app = typer.Typer(help="网页账号 / staff accounts for the web pages", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        typer.echo(f"settings: {error}", err=True)
        raise typer.Exit(2) from None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    subject: Annotated[str, typer.Option(help="Staff id, the login name, e.g. staff-017.")],
    role: Annotated[str, typer.Option(help="clerk | supervisor | leadership | auditor | admin")],
    service_point: Annotated[str | None, typer.Option(
        help="For clerk and supervisor: the root of the subtree they act on.")] = None,
    pii: Annotated[bool, typer.Option(help="Grant personal data (clerk, auditor).")] = False,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input.")]
    = False,
) -> None:
    """添加网页登录账号（密码不回显）。Add a staff account for the web pages.

    Example: sixhours users add --subject staff-017 --role clerk --service-point ly-yc
    """
    try:
        principal = Principal(subject.strip(), Role(role), service_point, pii)
        check_claims(principal)
    except ValueError as error:
        typer.echo(f"{error}", err=True)
        raise typer.Exit(2) from None
    if not principal.subject:
        typer.echo("the staff id is empty", err=True)
        raise typer.Exit(2)
    password = _password(password_stdin)
    container = build(_settings())
    try:
        if service_point is not None and not container.network().is_known(service_point):
            typer.echo(f"service point {service_point} is not in the network", err=True)
            raise typer.Exit(2)
        add_account(container.engine, Account(principal.subject, role, service_point, pii),
                    password, at=utc_now(), actor=operator())
    except AccountError as error:
        typer.echo(f"{error}", err=True)
        raise typer.Exit(2) from None
    finally:
        container.close()
    typer.echo(json.dumps({"subject": principal.subject, "role": role,
                           "service_point": service_point, "pii": pii}, ensure_ascii=False))


@users_app.command("list")
def users_list() -> None:
    """列出网页登录账号（不含密码）。List the staff accounts (never their passwords)."""
    container = build(_settings())
    try:
        for account in list_accounts(container.engine):
            typer.echo(json.dumps({"subject": account.subject, "role": account.role,
                                   "service_point": account.service_point, "pii": account.pii},
                                  ensure_ascii=False))
    finally:
        container.close()
