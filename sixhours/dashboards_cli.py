"""`sixhours dashboards build|push`: the Grafana dashboards from dashboards/config.yaml (the
command line lives in the composition root: it reads GRAFANA_* from the environment)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml

from dashboards.build import DashboardConfig, build_all
from dashboards.labels import text
from dashboards.push import Folder, PushFailed, connect, push

dashboards_app = typer.Typer(help="Grafana 仪表板 / Grafana dashboards generated from one config",
                             no_args_is_help=True)

ConfigOpt = Annotated[Path, typer.Option(
    "--config", help="The dashboards' config; it names the objective config (job, target).")]


class Lang(StrEnum):
    zh_CN = "zh-CN"
    en = "en"


LangOpt = Annotated[Lang, typer.Option("--lang", help="Titles and labels: zh-CN (default) or en.")]
DEFAULT_CONFIG = Path("dashboards/config.yaml")
DEFAULT_OUT = Path("dashboards/generated")


def load_config(path: Path) -> DashboardConfig:
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        objective_path = path.parent / config["objective"]
        objective = yaml.safe_load(objective_path.read_text(encoding="utf-8"))
        return DashboardConfig.of(config, objective)
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as error:
        raise typer.BadParameter(f"cannot read the dashboards' config {path}: {error!r} "
                                 "(run from the repository root, or give --config)") from None


@dashboards_app.command("build")
def build_command(
    config: ConfigOpt = DEFAULT_CONFIG,
    out: Annotated[Path, typer.Option("--out", help="Folder for the JSON files.")] = DEFAULT_OUT,
    lang: LangOpt = Lang.zh_CN,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; exit 1 if the files in --out differ from the config's.")] = False,
) -> None:
    """生成 Grafana 仪表板 JSON（领导总览、督导、服务质量）。

    Generate the dashboards' JSON (leadership overview, supervision, service quality) from the
    config. The Chinese ones are committed in dashboards/generated/ and Grafana loads them from
    there; after changing the config, run this and commit the result. With --check, nothing is
    written and the exit code says whether the committed files are up to date.
    """
    files = build_all(load_config(config), lang.value)
    if check:
        stale = [name for name, body in files.items()
                 if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != body]
        if stale:
            typer.echo(f"out of date in {out}: {', '.join(stale)}; regenerate with "
                       f"`sixhours dashboards build --config {config} --out {out} --lang {lang.value}`",
                       err=True)
            raise typer.Exit(1)
        typer.echo(f"up to date: {', '.join(files)}")
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (out / name).write_text(body, encoding="utf-8")
    typer.echo(f"wrote {', '.join(str(out / name) for name in files)}")


@dashboards_app.command("push")
def push_command(
    url: Annotated[str, typer.Option("--url", envvar="GRAFANA_URL",
                                     help="Grafana, e.g. http://127.0.0.1:3000 (or GRAFANA_URL).")],
    token: Annotated[str | None, typer.Option(
        "--token", envvar="GRAFANA_TOKEN", show_default=False,
        help="A service-account token with the Editor role; better in GRAFANA_TOKEN.")] = None,
    user: Annotated[str | None, typer.Option("--user", envvar="GRAFANA_USER",
                                             help="Or an editor's login (GRAFANA_USER)...")] = None,
    password: Annotated[str | None, typer.Option(
        "--password", envvar="GRAFANA_PASSWORD", show_default=False,
        help="...and password; better in GRAFANA_PASSWORD.")] = None,
    folder: Annotated[str | None, typer.Option(
        "--folder", help="The folder's uid in Grafana (default: the config's folder_uid).")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    lang: LangOpt = Lang.zh_CN,
) -> None:
    """把仪表板推送到 Grafana（按 uid 覆盖，可重复执行）。

    Put the dashboards into a running Grafana, in their folder, replacing the ones with the
    same uid (running it again changes nothing). Not needed where Grafana loads them from
    files (docker/grafana/provisioning).
    """
    settings = load_config(config)
    target = Folder(uid=folder or settings.folder_uid, title=text("folder", lang.value))
    try:
        uids = push(connect(url, token, user, password), build_all(settings, lang.value), target,
                    message="sixhours dashboards push")
    except PushFailed as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"pushed to {url} (folder {target.uid}): {', '.join(uids)}")
