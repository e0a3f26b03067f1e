"""Put the dashboards into a running Grafana through its HTTP API (grafana-client).

Idempotent by uid: the folder is renamed in place or created when Grafana has none with that
uid, and each dashboard is saved over the one with its uid (`overwrite`), so pushing twice
leaves Grafana as pushing once. Provisioning from files (docker/grafana/provisioning) needs no
push; this is for a Grafana run by someone else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException


class PushFailed(Exception):
    """Grafana could not be reached or refused the dashboards; the message says what to do."""


@dataclass(frozen=True)
class Folder:
    uid: str
    title: str


def connect(url: str, token: str | None = None, user: str | None = None,
            password: str | None = None) -> GrafanaApi:
    """A client for Grafana at `url`, with a service-account token or a user and password."""
    if token:
        return GrafanaApi.from_url(url, credential=token)
    if user:
        return GrafanaApi.from_url(url, credential=(user, password or ""))
    return GrafanaApi.from_url(url)


def ensure_folder(api: GrafanaApi, folder: Folder) -> None:
    try:
        api.folder.update_folder(folder.uid, title=folder.title, overwrite=True)
    except GrafanaClientError as error:
        if error.status_code != 404:
            raise
        api.folder.create_folder(folder.title, uid=folder.uid)


def push(api: GrafanaApi, dashboards: Mapping[str, str], folder: Folder, message: str) -> list[str]:
    """Save each dashboard (file name -> JSON) into the folder; returns their uids."""
    url = api.client.url
    try:
        ensure_folder(api, folder)
        uids = []
        for body in dashboards.values():
            dashboard = json.loads(body)
            # `id` null: Grafana finds the dashboard by uid, whatever id it has there.
            api.dashboard.update_dashboard({"dashboard": {**dashboard, "id": None},
                                            "folderUid": folder.uid, "overwrite": True,
                                            "message": message})
            uids.append(dashboard["uid"])
        return uids
    except GrafanaClientError as error:
        if error.status_code in (401, 403):
            raise PushFailed(f"Grafana at {url} refused the credentials ({error.status_code}): "
                             "give a service-account token with the Editor role "
                             "(GRAFANA_TOKEN) or an editor's GRAFANA_USER/GRAFANA_PASSWORD") from None
        raise PushFailed(f"Grafana at {url} refused the request: {error}") from None
    except GrafanaException as error:
        if error.status_code:  # a 5xx: Grafana is there but failed
            raise PushFailed(f"Grafana at {url} failed: {error}; try again, or see its log") from None
        raise _unreachable(url, error) from None
    except requests.RequestException as error:
        raise _unreachable(url, error) from None


def _unreachable(url: str, error: Exception) -> PushFailed:
    return PushFailed(f"cannot reach Grafana at {url}: {error}; check --url "
                      "(e.g. http://127.0.0.1:3000) and that Grafana is running")
