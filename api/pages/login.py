"""Logging in and out, the language switch, and each role's first page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, Role, check_claims
from api.pages import texts
from api.pages.web import (
    LANG_COOKIE,
    PREFIX,
    PageRoute,
    SignedIn,
    WebDep,
    local_path,
    read_form,
    require_csrf,
)
from api.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL_SECONDS,
    close_session,
    login_nonce,
    nonce_matches,
    open_session,
)
from projections.accounts import Account, check_login

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

FIRST_PAGE = {Role.clerk: "/cases", Role.supervisor: "/watch", Role.leadership: "/watch",
              Role.auditor: "/audit"}
NextPath = Annotated[str | None, Query(alias="next", max_length=500)]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/")
def home(page: SignedIn) -> Response:
    first = FIRST_PAGE.get(page.user.role)
    if first is None:
        return page.render("admin.html")
    return RedirectResponse(PREFIX + first, status_code=303)


@router.get("/login")
def login_form(page: WebDep, next_path: NextPath = None) -> Response:
    return _login_page(page, local_path(next_path), failed=False)


def _login_page(page: WebDep, next_path: str, *, failed: bool) -> Response:
    nonce = login_nonce()
    response = page.render("login.html", 401 if failed else 200, nonce=nonce, next=next_path,
                           failed=failed)
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, path=PREFIX + "/login",
                        httponly=True, samesite="strict", secure=_secure(page.request))
    return response


def _principal(account: Account) -> Principal | None:
    try:
        principal = Principal(account.subject, Role(account.role), account.service_point,
                              account.pii)
        check_claims(principal)
    except ValueError:
        return None  # an account the roles no longer allow signs nobody in
    return principal


@router.post("/login")
async def login(page: WebDep) -> Response:
    form = await read_form(page.request)
    next_path = local_path((form.get("next") or [""])[0])
    if not nonce_matches(page.request.cookies.get(LOGIN_COOKIE), (form.get("nonce") or [""])[0]):
        return _login_page(page, next_path, failed=True)
    subject = (form.get("subject") or [""])[0].strip()
    password = (form.get("password") or [""])[0]
    account = await run_in_threadpool(check_login, page.context.engine, subject, password)
    principal = _principal(account) if account is not None else None
    if principal is None:
        return _login_page(page, next_path, failed=True)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(SESSION_COOKIE, open_session(page.context.keys, principal),
                        max_age=SESSION_TTL_SECONDS, path="/", httponly=True, samesite="lax",
                        secure=_secure(page.request))
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX + "/login")
    return response


@router.post("/logout")
async def logout(page: SignedIn) -> Response:
    require_csrf(page, await read_form(page.request))
    context = page.context
    await run_in_threadpool(close_session, context.keys, context.engine, page.session,
                            context.clock())
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language")
def switch_language(page: WebDep, to: Annotated[str, Query(max_length=8)] = "zh",
                    next_path: NextPath = None) -> Response:
    """A preference only (no data changes), so a plain link can switch it."""
    response = RedirectResponse(local_path(next_path), status_code=303)
    if to in texts.LANGUAGES:
        response.set_cookie(LANG_COOKIE, to, max_age=365 * 24 * 3600, path="/", samesite="lax",
                            secure=_secure(page.request))
    return response
