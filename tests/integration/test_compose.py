"""The deployable stack (docker/): the compose file validates and promises what the docs say.

No docker engine runs here: Debian's `docker-compose config` checks and resolves the file with
the example settings, HAProxy checks its own config, and the rest is read from the resolved file:
the services, their health checks, volumes and mounts, the settings they pass to Six Hours.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import yaml

from sixhours.settings import Settings
from tests.monitors.servers import require_binary

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
EXAMPLE_ENV = DOCKER / ".env.example"
SIXHOURS_SERVICES = ("init", "worker", "api", "admin")  # the services that run our image
LONG_RUNNING = ("postgres", "worker", "api", "proxy", "prometheus", "alertmanager", "grafana")


def _compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    compose = require_binary("docker-compose")
    # A clean environment: variables of the test run must not stand in for the env file's.
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([compose, "-f", str(COMPOSE), "--env-file", str(env_file), "config"],
                          capture_output=True, text=True, cwd=ROOT, env=clean, check=False)


def _resolved() -> dict[str, Any]:
    done = _compose_config(EXAMPLE_ENV)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def test_the_stack_has_every_part_each_with_a_health_check() -> None:
    services = _resolved()["services"]
    assert set(services) == {"postgres", "init", "worker", "api", "proxy", "prometheus",
                             "alertmanager", "grafana", "admin"}
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        assert services[name]["restart"] == "unless-stopped", name
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["command"] == ["worker"]
    assert services["worker"]["environment"]["SIXHOURS_METRICS_PORT"] == "9480"
    assert services["init"]["command"] == ["projections", "status"]
    for name in ("worker", "api"):  # the tables exist before either starts
        assert services[name]["depends_on"]["init"]["condition"] == \
            "service_completed_successfully"
    assert services["admin"]["profiles"] == ["tools"], "admin is run by hand, never by `up`"


def test_images_are_pinned_and_data_lives_in_named_volumes() -> None:
    config = _resolved()
    for name, service in config["services"].items():
        tag = service["image"].rsplit(":", 1)
        assert len(tag) == 2 and re.search(r"\d", tag[1]) and tag[1] != "latest", (name, tag)
    assert set(config["volumes"]) == {"postgres-data", "prometheus-data", "alertmanager-data",
                                      "grafana-data"}
    mounts = {name: {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}
              for name, service in config["services"].items()}
    assert mounts["postgres"]["/var/lib/postgresql/data"] == "postgres-data"
    assert mounts["prometheus"]["/prometheus"] == "prometheus-data"
    assert mounts["alertmanager"]["/alertmanager"] == "alertmanager-data"
    assert mounts["grafana"]["/var/lib/grafana"] == "grafana-data"


def test_the_configs_the_stack_mounts_are_where_it_mounts_them_from() -> None:
    mounts = {name: {v.split(":")[1]: Path(v.split(":")[0]) for v in s.get("volumes", [])}
              for name, s in _resolved()["services"].items()}
    prometheus = mounts["prometheus"]["/etc/prometheus"]
    assert prometheus == DOCKER / "prometheus"
    assert (prometheus / "prometheus.yml").is_file()
    assert (prometheus / "rules" / "sixhours.rules.yml").is_file()
    rules = yaml.safe_load((prometheus / "prometheus.yml").read_text())["rule_files"]
    assert all((prometheus / path).is_file() for path in rules)
    alertmanager = mounts["alertmanager"]["/etc/alertmanager"]
    assert (alertmanager / "alertmanager.yml").is_file()
    assert any((alertmanager / "templates").glob("*.tmpl"))
    assert mounts["grafana"]["/etc/grafana/provisioning"] == DOCKER / "grafana" / "provisioning"
    assert mounts["grafana"]["/var/lib/grafana/dashboards"] == ROOT / "dashboards" / "generated"
    assert (mounts["proxy"]["/usr/local/etc/haproxy/haproxy.cfg"]).is_file()


def test_six_hours_gets_only_settings_it_knows_and_every_secret() -> None:
    known = {f"SIXHOURS_{name.upper()}" for name in Settings.model_fields}
    services = _resolved()["services"]
    for name in SIXHOURS_SERVICES:
        environment = services[name]["environment"]
        assert set(environment) <= known, (name, set(environment) - known)
        for secret in ("SIXHOURS_DATABASE_URL", "SIXHOURS_SECRET_KEY", "SIXHOURS_API_KEYS"):
            assert environment[secret], (name, secret)
        assert environment["SIXHOURS_DATABASE_URL"].startswith("postgresql://sixhours:")
        assert environment["SIXHOURS_ALERTMANAGER_URL"] == "http://alertmanager:9093"


def test_the_example_env_file_names_every_variable_the_compose_file_uses() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    example = {line.split("=", 1)[0] for line in EXAMPLE_ENV.read_text().splitlines()
               if line and not line.startswith("#")}
    assert used <= example, used - example
    assert example - used <= {"COMPOSE_PROJECT_NAME"}, example - used


def test_a_missing_secret_stops_the_stack_with_its_name(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("\n".join(line for line in EXAMPLE_ENV.read_text().splitlines()
                             if not line.startswith("SIXHOURS_SECRET_KEY=")) + "\n")
    done = _compose_config(env)
    assert done.returncode != 0
    assert "SIXHOURS_SECRET_KEY" in done.stderr


def test_the_proxy_config_is_valid_haproxy() -> None:
    haproxy = require_binary("haproxy")
    done = subprocess.run([haproxy, "-c", "-f", str(DOCKER / "haproxy" / "haproxy.cfg")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_holds_every_package_the_project_ships() -> None:
    """The Dockerfile copies the packages one by one: a new package must be copied too."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (DOCKER / "Dockerfile").read_text(), re.M))
    assert copied == shipped
    assert (DOCKER / "Dockerfile").read_text().count("COPY pyproject.toml") == 1
