"""`sixhours users add` refuses what a token could not carry, and never an account twice.

Given the example network, when an admin adds accounts from a script (`--password-stdin`), then
a clerk without a service point, a supervisor with personal data, a point the network does not
know, a short password and a second account for one staff id are each refused with exit code 2
and a reason, and `users list` shows the accounts without their passwords.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sixhours.bootstrap import build
from sixhours.cli import app as cli
from sixhours.settings import Settings
from tests.api.conftest import install_network
from tests.web.conftest import PASSWORD


def _add(env: dict[str, str], *args: str, password: str = PASSWORD) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["users", "add", "--password-stdin", *args],
                                input=password + "\n", env=env)
    return result.exit_code, result.output


@pytest.fixture
def network(env: dict[str, str]) -> None:
    container = build(Settings())
    install_network(container)
    container.close()


@pytest.mark.usefixtures("network")
@pytest.mark.parametrize(("args", "password", "reason"), [
    (("--subject", "s1", "--role", "clerk"), PASSWORD, "needs a service point"),
    (("--subject", "s2", "--role", "supervisor", "--service-point", "ly", "--pii"), PASSWORD,
     "cannot be granted personal data"),
    (("--subject", "s3", "--role", "clerk", "--service-point", "nowhere"), PASSWORD,
     "not in the network"),
    (("--subject", "s4", "--role", "janitor"), PASSWORD, "janitor"),
    (("--subject", "s5", "--role", "clerk", "--service-point", "ly-yc"), "short", "at least"),
])
def test_an_account_a_token_could_not_carry_is_refused(env: dict[str, str], args: tuple[str, ...],
                                                       password: str, reason: str) -> None:
    code, output = _add(env, *args, password=password)
    assert code == 2 and reason in output


@pytest.mark.usefixtures("network")
def test_one_account_per_staff_id_and_the_list_shows_no_passwords(env: dict[str, str]) -> None:
    assert _add(env, "--subject", "staff-017", "--role", "clerk", "--service-point", "ly-yc",
                "--pii")[0] == 0
    code, output = _add(env, "--subject", "staff-017", "--role", "auditor")
    assert code == 2 and "already exists" in output
    listed = CliRunner().invoke(cli, ["users", "list"], env=env)
    assert listed.exit_code == 0
    assert [json.loads(line) for line in listed.output.splitlines()] == [
        {"subject": "staff-017", "role": "clerk", "service_point": "ly-yc", "pii": True}]
    assert PASSWORD not in listed.output
