"""Browser sessions for the web pages (issue 7): a signed cookie and a CSRF token per session.

A session is a bearer token of the API's own key ring (`KeyRing.issue`), so a page acts with
exactly the role, service point and personal-data grant a token of that account would carry,
checked by the same `Principal` methods. It travels in an HttpOnly, SameSite=Lax cookie (Secure
on HTTPS), which scripts cannot read and other sites' forms do not send on a POST.

Every POST form also carries a CSRF token: for a logged-in form an HMAC of the session token
under the key that signed it (bound to the session, so nothing is stored), for the login form a
random nonce that must equal a cookie set with the form (double submit: there is no session yet).
A logout remembers the session's token id until the token would have expired, so the cookie
cannot be replayed to the pages afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import jwt
from sqlalchemy import Engine

from api.auth import KeyRing, Principal
from api.problems import Problem
from projections.accounts import end_session, session_ended

SESSION_COOKIE = "sixhours_session"
LOGIN_COOKIE = "sixhours_login"
SESSION_TTL_SECONDS = 10 * 3600  # a working day; the clerk logs in again the next morning


def open_session(keys: KeyRing, principal: Principal) -> str:
    return keys.issue(principal, SESSION_TTL_SECONDS)


def session_principal(keys: KeyRing, engine: Engine, token: str | None) -> Principal | None:
    """The session's principal; None when there is no cookie, or it is forged, expired or
    logged out."""
    if not token:
        return None
    try:
        principal = keys.verify(token)
    except Problem:
        return None
    if principal.token_id is None or session_ended(engine, principal.token_id):
        return None
    return principal


def close_session(keys: KeyRing, engine: Engine, token: str | None, now: datetime) -> None:
    principal = session_principal(keys, engine, token)
    if principal is None or principal.token_id is None or token is None:
        return
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    end_session(engine, principal.token_id, datetime.fromtimestamp(int(expires), UTC), now)


def csrf_token(keys: KeyRing, token: str) -> str:
    """The CSRF token of a (verified) session: an HMAC of it under the key that signed it."""
    kid = jwt.get_unverified_header(token).get("kid")
    key = keys.keys[kid] if isinstance(kid, str) else b""
    return hmac.new(key, b"sixhours-csrf:" + token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(keys: KeyRing, token: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(csrf_token(keys, token), submitted or "")


def login_nonce() -> str:
    return secrets.token_urlsafe(24)


def nonce_matches(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie) and bool(submitted) and hmac.compare_digest(cookie or "", submitted or "")
