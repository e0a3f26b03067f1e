"""`sixhours audit erase | rotate-master-key | log`: the personal-data lifecycle (PIPL)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sixhours.audit_common import audit_app, operator
from sixhours.bootstrap import Container, utc_now
from sixhours.cli_common import Lang, echo_json
from sixhours.cli_common import UserError as AuditError
from sixhours.cli_common import container as audit_container

# --- personal data lifecycle (PIPL) ----------------------------------------------------------


def _vault(c: Container) -> Any:
    return c.service.vault  # the Vault the composition root built


@audit_app.command("erase")
def erase_command(
    case_id: str,
    request: Annotated[str, typer.Option("--request", help="The erasure request's reference "
                                         "(a ticket number; never a name).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    lang: Lang = None,
) -> None:
    """删除申请人个人信息（销毁该案件的数据密钥，不可恢复）。案件事件和统计数据保留，哈希链仍可校验。

    Erase a case's applicant data for good by destroying its data key (crypto-shredding). The
    events, figures and hash chain stay valid; the action is written to the audit log.

    Example: sixhours audit erase BS-2026-000045 --request PIPL-2026-0007
    """
    with audit_container(lang) as (c, chosen):
        if not c.service.history(case_id):
            raise AuditError(f"case {case_id} has no recorded events")
        if not yes:
            prompt = (f"永久删除案件 {case_id} 的申请人个人信息？" if chosen.startswith("zh")
                      else f"Erase the applicant data of case {case_id} for good?")
            typer.confirm(prompt, abort=True)
        done = _vault(c).erase(case_id, utc_now(), request, operator())
        echo_json(done)


@audit_app.command("rotate-master-key")
def rotate_master_key_command(
    old_key: Annotated[str, typer.Option(
        "--old-key", envvar="SIXHOURS_OLD_SECRET_KEY",
        help="The master key being replaced (base64); SIXHOURS_SECRET_KEY holds the new one.")],
    lang: Lang = None,
) -> None:
    """更换主密钥：用新主密钥（SIXHOURS_SECRET_KEY）重新包装每个案件的数据密钥。可中断后重跑。

    Rotate the master key: re-wrap every case's data key under the new master key
    (SIXHOURS_SECRET_KEY). Stopped half-way, run it again to finish. Back the new key up first.
    """
    import base64
    import binascii

    with audit_container(lang) as (c, _):
        try:
            old = base64.b64decode(old_key, validate=True)
        except (binascii.Error, ValueError):
            raise AuditError("--old-key must be base64") from None
        new = c.settings.master_key()
        if len(old) != 32 or old == new:
            raise AuditError("--old-key must be the previous 32-byte key, not the new one")
        echo_json(_vault(c).rotate_master(old, new, operator(), utc_now()))


@audit_app.command("log")
def log_command(
    case_id: Annotated[str | None, typer.Option("--case", help="Only entries about this case."
                                                )] = None,
    limit: Annotated[int, typer.Option(help="Newest first, at most this many.")] = 100,
    lang: Lang = None,
) -> None:
    """审计日志：管理操作和个人信息的每次读取（只含编号，不含个人信息）。

    The audit log: every admin action and every read of personal data (ids only).
    """
    from projections.admin_log import audit_log

    with audit_container(lang) as (c, _):
        entries = audit_log(c.engine, case_id=case_id, limit=limit)
        for entry in entries:
            entry["at"] = entry["at"].astimezone(c.settings.tz).isoformat()
        echo_json(entries)
