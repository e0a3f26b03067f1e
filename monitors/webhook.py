"""A generic webhook sink: each change of an alert, posted once, in Alertmanager's webhook shape.

For a receiver without Alertmanager (a ticket system, a WeCom bot bridge): it is told when an
alert fires and when it is resolved, never re-posted. The body follows Alertmanager's webhook
payload (version 4), so receivers written for Alertmanager take it as is.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitors.alertmanager import SinkUnavailable, iso_utc
from projections.tables import from_us

TIMEOUT_SECONDS = 5.0
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "no end time yet"


class WebhookSink:
    def __init__(self, url: str) -> None:
        self.name = "webhook"
        self.url = url
        self.repost_seconds: float | None = None

    def send(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        items = [{"status": "firing" if row["ends_at_us"] is None else "resolved",
                  "labels": row["labels"], "annotations": row["annotations"],
                  "startsAt": iso_utc(from_us(row["starts_at_us"])),
                  "endsAt": ZERO_TIME if row["ends_at_us"] is None
                  else iso_utc(from_us(row["ends_at_us"])),
                  "fingerprint": row["fingerprint"]} for row in rows]
        status = "firing" if any(i["status"] == "firing" for i in items) else "resolved"
        body = {"version": "4", "receiver": "sixhours", "status": status, "alerts": items,
                "groupLabels": {}, "commonLabels": {"source": "sixhours"},
                "commonAnnotations": {}, "externalURL": ""}
        request = urllib.request.Request(self.url, data=json.dumps(body, ensure_ascii=False)
                                         .encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                response.read()
        except (urllib.error.URLError, OSError) as error:
            raise SinkUnavailable(f"POST {self.url}: {error}") from None
