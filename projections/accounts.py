"""Local staff accounts for the web pages (issue 7), and the sessions ended by a logout.

There is no directory service to ask, so an admin creates each account (`sixhours users add`)
with the same role, service point and personal-data grant a bearer token would carry; a login
turns the account into exactly that token (api/sessions.py). Passwords are stored as scrypt
hashes with a salt of their own (RFC 7914 parameters in the stored string, so they can be raised
later without breaking old hashes) and compared in constant time. A login for an unknown staff id
hashes a password all the same, so the answer's timing does not tell which ids exist.

The tables live in the read-model database beside the admin audit log; an account's creation
and its log row commit together. Nothing here holds personal data of applicants.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from projections.admin_log import AdminAction, log_action_in
from projections.tables import to_us

metadata = MetaData()

accounts = Table(
    "sixhours_accounts", metadata,
    Column("subject", String(128), primary_key=True),  # the staff id
    Column("role", String(16), nullable=False),
    Column("service_point", String(64)),
    Column("pii", Boolean, nullable=False),
    Column("password", String(256), nullable=False),  # scrypt$n$r$p$salt$hash (base64)
    Column("created_at_us", BigInteger, nullable=False),
)

# A logged-out session's token id, kept until the token would have expired anyway.
ended_sessions = Table(
    "sixhours_ended_sessions", metadata,
    Column("token_id", String(64), primary_key=True),
    Column("expires_at_us", BigInteger, nullable=False),
)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # about 16 MB and a few tens of ms per check
SALT_BYTES = 16
MIN_PASSWORD_CHARS = 10


class AccountError(ValueError):
    """An account that cannot be created as asked, with the reason."""


@dataclass(frozen=True)
class Account:
    subject: str
    role: str
    service_point: str | None
    pii: bool


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def password_matches(stored: str, password: str) -> bool:
    """Whether `password` hashes to `stored`, compared in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


@cache
def _unknown_account_hash() -> str:
    """Checked when the staff id is unknown: an unknown id costs as long as a wrong password."""
    return hash_password("no such account", salt=b"\0" * SALT_BYTES)


def add_account(engine: Engine, account: Account, password: str, *, at: datetime,
                actor: str) -> None:
    """Create the account and its admin-log row in one transaction."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    try:
        with engine.begin() as conn:
            conn.execute(insert(accounts).values(
                subject=account.subject, role=account.role, service_point=account.service_point,
                pii=account.pii, password=hash_password(password), created_at_us=to_us(at)))
            log_action_in(conn, AdminAction(
                at=at, actor=actor, action="account_added", target=account.subject,
                detail={"role": account.role, "service_point": account.service_point,
                        "pii": account.pii}))
    except IntegrityError:
        raise AccountError(f"an account for {account.subject} already exists") from None


def list_accounts(engine: Engine) -> list[Account]:
    with engine.connect() as conn:
        rows = conn.execute(select(accounts).order_by(accounts.c.subject)).mappings().all()
    return [Account(r["subject"], r["role"], r["service_point"], bool(r["pii"])) for r in rows]


def check_login(engine: Engine, subject: str, password: str) -> Account | None:
    """The account, when `password` is its password; None otherwise (same cost either way)."""
    with engine.connect() as conn:
        row = conn.execute(select(accounts).where(accounts.c.subject == subject)).mappings().first()
    if row is None:
        password_matches(_unknown_account_hash(), password)
        return None
    if not password_matches(row["password"], password):
        return None
    return Account(row["subject"], row["role"], row["service_point"], bool(row["pii"]))


def end_session(engine: Engine, token_id: str, expires_at: datetime, now: datetime) -> None:
    """Remember a logged-out session until it would have expired; forget expired ones."""
    with engine.begin() as conn:
        conn.execute(delete(ended_sessions).where(ended_sessions.c.expires_at_us < to_us(now)))
        known = conn.execute(select(ended_sessions.c.token_id)
                             .where(ended_sessions.c.token_id == token_id)).first()
        if known is None:
            conn.execute(insert(ended_sessions).values(token_id=token_id,
                                                       expires_at_us=to_us(expires_at)))


def session_ended(engine: Engine, token_id: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(ended_sessions.c.token_id)
                            .where(ended_sessions.c.token_id == token_id)).first() is not None
