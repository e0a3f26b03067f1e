"""Settings from the environment (SIXHOURS_*), validated at start-up."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_KEY = base64.b64encode(b"sixhours-dev-mode-key-not-secret").decode()


class MissingSecretKey(RuntimeError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIXHOURS_", extra="ignore")

    database_url: str = "sqlite:///sixhours.sqlite"
    timezone: str = "Asia/Shanghai"
    lang: Literal["zh", "en"] = "zh"
    # 32 bytes, base64: the master key that wraps each case's personal-data key.
    secret_key: SecretStr | None = None
    dev_mode: bool = False
    calendar_file: Path | None = None  # a bureau's holidays for years the package does not know
    policy_files: list[Path] = []
    default_policy: str = "six-hours"
    # HTTP API (issue 4). Token keys by key id, as JSON: {"2026-03": "<base64 of >= 32 bytes>"};
    # new tokens are signed with api_signing_key_id (default: the last listed), every listed key
    # verifies, so a key is rotated by adding the new one first and removing the old one later.
    api_keys: dict[str, SecretStr] = {}
    api_signing_key_id: str | None = None
    api_max_body_bytes: int = 64 * 1024
    api_max_page_size: int = 500
    # Processes that build a new read-model version side by side (default: one per core, at
    # most 4); small stores are built in one process whatever this says.
    build_workers: int = Field(default_factory=lambda: min(os.cpu_count() or 1, 4), ge=1)
    build_parallel_from: int = 200_000  # events; below this a second process costs more than it saves
    # Monitors and metrics (issue 5), run by the worker (and by `serve`'s in-process worker).
    # Alerts go to Alertmanager's v2 API and/or a generic webhook; with neither, no alert pass runs.
    alertmanager_url: str | None = None  # e.g. http://127.0.0.1:9093
    alert_webhook_url: str | None = None  # receives Alertmanager-webhook-shaped JSON on changes
    monitor_interval_seconds: float = 5.0  # a deadline reaches Alertmanager within about this
    alert_repost_seconds: float = 60.0  # well within Alertmanager's resolve_timeout (5 min)
    # The worker's Prometheus endpoint (/metrics); unset: no metrics endpoint.
    metrics_port: int | None = None
    metrics_address: str = "127.0.0.1"
    # How often the worker re-reads the last 30 days' histories for the data-quality gauges.
    quality_every_seconds: float = Field(default=900.0, gt=0)

    @field_validator("alertmanager_url", "alert_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # an empty variable means "not configured"
        if not value.startswith(("http://", "https://")):
            raise ValueError("alert URLs must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("SIXHOURS_DATABASE_URL must be sqlite:///PATH or postgresql://...")
        return value

    @field_validator("secret_key")
    @classmethod
    def _key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                raw = base64.b64decode(value.get_secret_value(), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("SIXHOURS_SECRET_KEY must be base64") from None
            if len(raw) != 32:
                raise ValueError("SIXHOURS_SECRET_KEY must decode to 32 bytes")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def master_key(self) -> bytes:
        if self.secret_key is not None:
            return base64.b64decode(self.secret_key.get_secret_value())
        if self.dev_mode:
            return base64.b64decode(DEV_KEY)
        raise MissingSecretKey(
            "SIXHOURS_SECRET_KEY is not set: personal data cannot be encrypted. Generate one with "
            "`sixhours keys generate` and keep it safe, or set SIXHOURS_DEV_MODE=1 for a demo.")
