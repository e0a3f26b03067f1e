"""Headless Chromium against the real server on loopback, for the pages' end-to-end tests.

Debian's `chromium` is driven through its own `chromedriver` (package `chromium-driver`) with
Selenium; nothing is downloaded. Without them the tests skip saying how to install them, and
fail under CI=true (CI installs them). The server is `sixhours serve` as an operator starts it,
on an SQLite store seeded through the HTTP API. Screenshots of each page go to
tests/output/screenshots/ (or $SIXHOURS_SCREENSHOTS).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import Principal, Role
from sixhours.bootstrap import utc_now
from sixhours.serve import keyring
from sixhours.settings import Settings
from tests.monitors.servers import Process, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SIXHOURS_SCREENSHOTS", REPO / "tests" / "output" / "screenshots"))
DEBIAN_PACKAGES = {"chromium": "chromium", "chromedriver": "chromium-driver"}


def require_browser() -> tuple[str, str]:
    """Chromium and its driver, and Selenium; skip with how to get them (fail under CI)."""
    missing = [f"{name} (apt-get install {package})" for name, package in DEBIAN_PACKAGES.items()
               if shutil.which(name) is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        message = "the browser tests need " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(shutil.which("chromium")), str(shutil.which("chromedriver"))


def chrome() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1400", "--lang=zh-CN"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def screenshot(browser: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    print(f"screenshot: {path}")  # noqa: T201 - where to look, in the test output
    return path


class Server(Process):
    """`sixhours serve` on a loopback port with this environment."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([sys.executable, "-m", "sixhours.cli", "serve", "--port",
                          str(self.port), "--no-access-log"], log)
        self.env = env

    def start(self) -> None:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(self.args, cwd=REPO, env={**os.environ, **self.env},
                                     stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        wait_for(lambda: httpx.get(f"{self.url}/ready", timeout=2).status_code == 200, 60,
                 f"the server on {self.url} ({self.log})")


@dataclass
class Seeder:
    """Records case steps through the server's own HTTP API, as another system would."""

    url: str
    settings: Settings
    count: list[int] = field(default_factory=lambda: [0])

    def token(self) -> str:
        return keyring(self.settings).issue(Principal("seeder", Role.clerk, "bs"), 3600)

    def step(self, case_id: str, kind: str, minutes_ago: float, **data: Any) -> str:
        self.count[0] += 1
        event_id = f"{case_id}-e{self.count[0]}"
        at: datetime = utc_now() - timedelta(minutes=minutes_ago)
        raw = {"event_id": event_id, "case_id": case_id, "type": kind,
               "occurred_at": at.isoformat(), "data": data}
        answer = httpx.post(f"{self.url}/steps", json=raw, timeout=10,
                            headers={"Authorization": f"Bearer {self.token()}"})
        assert answer.status_code == 201, answer.text
        return event_id

    def received(self, case_id: str, point: str, minutes_ago: float, **extra: Any) -> str:
        return self.step(case_id, "application_received", minutes_ago, service_point=point,
                         channel="walk_in", category="civil", groups=["migrant_worker"], **extra)


def until(browser: Any, check: Callable[[Any], Any], what: str, timeout: float = 20) -> Any:
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    # A page being replaced can hand back an element that is gone a moment later: look again.
    retry = (NoSuchElementException, StaleElementReferenceException)

    def look(b: Any) -> Any:
        try:
            return check(b)
        except WebDriverException as error:
            # Chromium's driver sometimes reports such an element as an "unknown error" of
            # its inspector instead of a stale element (seen in CI, chromedriver 156).
            if "does not belong to the document" in (error.msg or ""):
                return False
            raise

    return WebDriverWait(browser, timeout, ignored_exceptions=retry).until(look, f"waited for {what}")
