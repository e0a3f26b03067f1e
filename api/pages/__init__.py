"""Web pages for the people who record and watch the steps (issue 7), served by the API process.

Why server-rendered pages: a township clerk's workstation has a browser and nothing else, often
an old one on a slow line. Pages are Jinja2 templates rendered on the server, one stylesheet and
one small script (a countdown that refreshes the time left each minute); every page and every
form works without the script, and there is no front-end build.

- Who: a login with a staff id and password (local accounts, `sixhours users add`) opens a
  session that carries exactly the claims of an API token (api/sessions.py), so every check is
  the API's own: `Principal.require`, the subtree of `Principal.scope`, `load_case`, the writer.
  Forms carry a CSRF token; bearer tokens stay for machines and are not read here.
- Language: Chinese by default, English by a cookie the header's link sets (texts.py).
- Small screens and keyboards: semantic HTML, a label on every field, visible focus, tables that
  scroll sideways on a phone, disclosure (`<details>`) rather than hover for the step forms.

Pages: a clerk's open cases, case page with the next steps, registration (clerk.py); a
supervisor's warnings and overdue steps with acknowledgement and today's figures (watch.py); an
auditor's case timeline (timeline.py); login, logout and the language switch (login.py).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.pages import clerk, login, timeline, watch
from api.pages.web import PREFIX, STATIC, templates


def install(app: FastAPI) -> None:
    """Serve the pages, their static files, and `/` as the way in."""
    app.state.web_templates = templates()
    for module in (login, clerk, watch, timeline):
        app.include_router(module.router)
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="web-static")

    @app.get("/", include_in_schema=False)
    def way_in() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=303)
