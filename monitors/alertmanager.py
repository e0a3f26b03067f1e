"""Alertmanager's v2 API: post alerts, and create, list and expire silences (acknowledgements).

Plain HTTP with the standard library: a few small JSON requests per pass need no client library.
Alertmanager forgets an alert after `resolve_timeout` unless it is posted again, so a firing alert
is posted with an end time a little ahead and re-posted well before then; a resolved one is
posted with its end time, now or in the past.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from projections.tables import from_us

TIMEOUT_SECONDS = 5.0


class SinkUnavailable(RuntimeError):
    """A sink (Alertmanager, a webhook) did not take the request; the outbox keeps it."""


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _request(method: str, url: str, body: Any = None, timeout: float = TIMEOUT_SECONDS) -> Any:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:300]
        raise SinkUnavailable(f"{method} {url}: HTTP {error.code} {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise SinkUnavailable(f"{method} {url}: {error}") from None
    return json.loads(text) if text.strip() else None


class AlertmanagerSink:
    """Delivers outbox alerts to Alertmanager, re-posting firing ones every `repost_seconds`."""

    def __init__(self, url: str, repost_seconds: float = 60.0) -> None:
        self.name = "alertmanager"
        self.url = url.rstrip("/")
        self.repost_seconds: float | None = repost_seconds
        # A firing alert ends this far ahead unless posted again: long enough to outlive a
        # missed re-post or two, short enough that a dead worker's alerts resolve on their own.
        self.hold = timedelta(seconds=4 * repost_seconds)

    def send(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        body = [{"labels": row["labels"], "annotations": row["annotations"],
                 "startsAt": iso_utc(from_us(row["starts_at_us"])),
                 "endsAt": iso_utc(from_us(row["ends_at_us"]) if row["ends_at_us"] is not None
                                   else now + self.hold)} for row in rows]
        _request("POST", f"{self.url}/api/v2/alerts", body)


class AlertmanagerClient:
    """Reads and silences for the API and tests."""

    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def alerts(self, filters: Sequence[str] = (), *, active: bool = True,
               silenced: bool = True) -> list[dict[str, Any]]:
        query = [("active", str(active).lower()), ("silenced", str(silenced).lower()),
                 *[("filter", f) for f in filters]]
        url = f"{self.url}/api/v2/alerts?" + urllib.parse.urlencode(query)
        return list(_request("GET", url, timeout=self.timeout) or [])

    def create_silence(self, matchers: dict[str, str], ends_at: datetime, created_by: str,
                       comment: str, starts_at: datetime | None = None) -> str:
        body = {"matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True}
                             for k, v in matchers.items()],
                "startsAt": iso_utc(starts_at or datetime.now(UTC)), "endsAt": iso_utc(ends_at),
                "createdBy": created_by, "comment": comment}
        answer = _request("POST", f"{self.url}/api/v2/silences", body, self.timeout)
        return str(answer["silenceID"])

    def silence(self, silence_id: str) -> dict[str, Any]:
        found: dict[str, Any] = _request("GET", f"{self.url}/api/v2/silence/{silence_id}",
                                         timeout=self.timeout)
        return found

    def expire_silence(self, silence_id: str) -> None:
        _request("DELETE", f"{self.url}/api/v2/silence/{silence_id}", timeout=self.timeout)

    def ready(self) -> bool:
        try:
            _request("GET", f"{self.url}/-/ready", timeout=self.timeout)
            return True
        except (SinkUnavailable, json.JSONDecodeError):
            return False
