"""What every page shares: the signed-in user, the language, templates, forms and their checks.

A page route is a `PageRoute`: a refusal the API would answer as problem details (a role that
may not, a case outside the subtree, a store away) is shown as an HTML page with the same status
and code, and a missing or ended session sends the browser to the login page and back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

import jinja2
from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from api.auth import Principal, Role
from api.context import ApiContext
from api.pages import clock_rows, texts
from api.problems import Problem
from api.sessions import SESSION_COOKIE, csrf_matches, csrf_token, session_principal
from domain.events import ID_PATTERN

PREFIX = "/web"
HERE = Path(__file__).resolve().parent.parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANG_COOKIE = "sixhours_lang"
MAX_FORM_FIELDS = 200


# Each role's links in the page header: (path, text key); a link shows only what the role may do.
NAV: Mapping[Role, tuple[tuple[str, str], ...]] = {
    Role.clerk: (("/cases", "nav_cases"), ("/cases/new", "nav_new")),
    Role.supervisor: (("/watch", "nav_watch"), ("/cases", "nav_cases"), ("/audit", "nav_audit")),
    Role.leadership: (("/watch", "nav_watch"), ("/audit", "nav_audit")),
    Role.auditor: (("/audit", "nav_audit"), ("/watch", "nav_watch")),
    Role.admin: (),
}


class LoginRequired(Exception):
    """No valid session: the browser goes to the login page and comes back after."""


def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.globals.update(event_label=texts.event_label, field_label=texts.field_label,
                       clock_label=texts.clock_label, value_label=texts.value_label,
                       duration=clock_rows.duration, local=clock_rows.local,
                       moment=clock_rows.moment, prefix=PREFIX)
    return env


@dataclass
class Web:
    """One page request: who asks, in which language, and how to answer."""

    request: Request
    context: ApiContext
    lang: str
    principal: Principal | None
    session: str | None

    @property
    def user(self) -> Principal:
        if self.principal is None:
            raise LoginRequired()
        return self.principal

    def t(self, key: str) -> str:
        return texts.text(key, self.lang)

    @property
    def csrf(self) -> str:
        return csrf_token(self.context.keys, self.session) if self.session else ""

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        env: jinja2.Environment = self.request.app.state.web_templates
        page = env.get_template(template).render(
            t=self.t, lang=self.lang, html_lang=texts.LANGUAGES[self.lang], user=self.principal,
            csrf=self.csrf, here=self.request.url.path, tz=self.context.tz,
            nav=NAV[self.principal.role] if self.principal else (), **values)
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})

    def problem(self, problem: Problem) -> HTMLResponse:
        return self.render("error.html", problem.status, problem=problem)


def language(request: Request, context: ApiContext) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in texts.LANGUAGES else context.lang


def web(request: Request) -> Web:
    """The page request, signed in or not (plain `def`: it reads the database)."""
    context: ApiContext = request.app.state.context
    token = request.cookies.get(SESSION_COOKIE)
    principal = session_principal(context.keys, context.engine, token)
    if principal is not None:
        request.scope["sixhours.principal"] = principal  # for the access log
    return Web(request, context, language(request, context), principal,
               token if principal is not None else None)


def signed_in(page: Annotated[Web, Depends(web)]) -> Web:
    page.user  # noqa: B018 - raises LoginRequired without a session
    return page


WebDep = Annotated[Web, Depends(web)]
SignedIn = Annotated[Web, Depends(signed_in)]


def known_case_id(case_id: str) -> str:
    """A case id from a page's path; one no case can have answers like a case not found."""
    if not ID_PATTERN.fullmatch(case_id):
        raise Problem(404, "case_not_found", f"case {case_id[:64]} has no recorded events")
    return case_id


def local_path(target: str | None, default: str = PREFIX + "/") -> str:
    """`target` when it is a path of these pages (never another site: no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/"):
        return default
    return target


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{PREFIX}/login?next={quote(here, safe='')}"


class PageRoute(APIRoute):
    """Refusals as HTML pages; a missing session as a redirect to the login page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return RedirectResponse(login_url(request), status_code=303)
            except Problem as problem:
                return web(request).problem(problem)

        return guarded


async def read_form(request: Request) -> dict[str, list[str]]:
    """An urlencoded form body (the only kind these pages send)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("", "application/x-www-form-urlencoded"):  # "": an empty form
        raise Problem(415, "unsupported_media_type",
                      "these pages take application/x-www-form-urlencoded forms")
    try:
        return parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True,
                        max_num_fields=MAX_FORM_FIELDS, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as error:
        raise Problem(400, "invalid_form", f"the form could not be read: {error}") from None


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # "null": a sandboxed or privacy-stripped cross-site request
    return urlsplit(origin).netloc == request.headers.get("host", "")


def require_csrf(page: Web, form: dict[str, list[str]]) -> None:
    """Refuse a form not sent by these pages in this session (403, code `csrf_failed`)."""
    submitted = (form.get("csrf") or [""])[0]
    if page.session is None or not _same_origin(page.request) or not csrf_matches(
            page.context.keys, page.session, submitted):
        raise Problem(403, "csrf_failed", page.t("form_expired"))
