"""Terminal output of the audit commands (the JSON forms are printed as they are)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sixhours.i18n import label, short_label

AUDIT_LABELS: dict[str, tuple[str, str]] = {
    "verify_ok": ("哈希链校验通过", "hash chain verified"),
    "verify_failed": ("哈希链校验未通过：发现改动", "hash chain check FAILED: history was changed"),
    "events_checked": ("已校验事件", "events checked"), "chain_head": ("链头", "chain head"),
    "unchained": ("尚未入链的事件", "events not chained yet"),
    "anchors_checked": ("已核对的锚点", "anchors checked"), "speed": ("速度", "speed"),
    "first_altered": ("第一条被改动的事件", "first altered event"),
    "kind": ("问题", "finding"), "case": ("案件", "case"), "notification": ("序号", "notification"),
    "event_altered": ("事件内容被改动", "event altered"),
    "event_moved": ("事件归属被改动", "event moved"),
    "event_deleted": ("事件被删除", "event deleted"),
    "event_inserted": ("事件被插入", "event inserted"),
    "chain_altered": ("链被改动", "chain altered"),
    "case_chain_altered": ("案件链被改动", "case chain altered"),
    "case_head_altered": ("案件链头被改动", "case head altered"),
    "anchor_mismatch": ("与锚点不符", "anchor mismatch"),
    "known_at": ("已知截至", "as known at"), "happened_at": ("发生截至", "as happened at"),
    "timeline": ("案件时间线", "case timeline"), "step": ("步骤", "step"),
    "changes": ("时限变化", "clock changes"), "lag": ("记录滞后", "recording lag"),
    "ingested": ("入库时间", "ingested"), "late": ("补录", "late"),
    "correction": ("更正", "correction"), "events": ("事件数", "events"),
    "what_if": ("假设分析", "what-if"), "current": ("现行标准", "current"),
    "what_if_policy": ("假设标准", "what-if policy"), "difference": ("差异（百分点）",
                                                                 "difference (points)"),
    "changed": ("结果改变的案件", "cases changed"), "cases_scored": ("评定案件", "cases scored"),
    "total": ("合计", "total"),
    "quality_title": ("数据质量", "Data quality"), "clerk": ("经办人", "clerk"),
    "lag_mean": ("平均记录滞后", "mean recording lag"),
    "lag_over_1h": ("滞后超过1小时", "lag over 1 h"),
    "heaping": ("临近时限集中度", "just inside the deadline"),
    "corrections_24h": ("24小时内最多更正", "most corrections in 24 h"),
    "withdrawn_after_breach": ("超时后撤回", "withdrawn after a breach"),
    "never_reached": ("回访未接通", "calls never reached"),
    "signals": ("需要核查", "to look into"),
}


def audit_label(key: str, lang: str) -> str:
    if key in AUDIT_LABELS:
        zh, en = AUDIT_LABELS[key]
        return zh if lang.startswith("zh") else en
    return label(key, lang)


def verification_table(body: dict[str, Any], lang: str, console: Console) -> None:
    L = lambda key: audit_label(key, lang)  # noqa: E731
    verdict = f"[green]{L('verify_ok')}[/]" if body["ok"] else f"[red]{L('verify_failed')}[/]"
    console.print(f"[bold]{verdict}[/]")
    summary = Table(show_header=False)
    summary.add_row(L("events_checked"), f"{body['events']:,}")
    summary.add_row(L("chain_head"), str(body["chain_head"]))
    summary.add_row(L("unchained"), f"{body['unchained']:,}")
    summary.add_row(L("anchors_checked"), str(body["anchors_checked"]))
    if body["events_per_s"]:
        summary.add_row(L("speed"), f"{body['events_per_s']:,} /s")
    console.print(summary)
    if body["findings"]:
        findings = Table(L("kind"), L("case"), L("event"), L("notification"))
        for f in body["findings"]:
            findings.add_row(L(f["kind"]), str(f["case_id"]), str(f["event_id"]),
                             str(f["notification_id"]))
        console.print(findings)
        first = body["first"]
        if lang.startswith("zh"):
            console.print(f"{L('first_altered')}：案件 {first['case_id']}，事件 {first['event_id']}"
                          f"（序号 {first['notification_id']}）— {L(first['kind'])}")
        else:
            console.print(first["message"])


def _short(moment: str | None) -> str:
    """2026-03-02T09:41:00+08:00 -> 03-02 09:41:00 (the zone is the configured one)."""
    return "" if moment is None else moment[5:19].replace("T", " ")


def _lag(seconds: float | None, lang: str) -> str:
    if seconds is None or seconds < 60:
        return ""
    hours = seconds / 3600
    text = f"{hours:.1f}h" if hours >= 1 else f"{seconds / 60:.0f}min"
    return f"+{text}"


def replay_tables(view: dict[str, Any], lang: str, console: Console) -> None:
    """The case as replayed, then its timeline: one row per step with the clocks it moved."""
    from sixhours.render import case_tables

    L = lambda key: audit_label(key, lang)  # noqa: E731
    console.print(f"[bold]{L('known_at')}[/]: {view['known_at'] or '—'}  "
                  f"[bold]{L('happened_at')}[/]: {view['happened_at']}  "
                  f"({view['events_known']}/{view['events_stored']})")
    case_tables(view, lang, console)
    colours = {"met": "green", "breached": "red", "overdue": "red", "running": "yellow",
               "achieved": "green", "missed": "red", "cancelled": "dim"}
    table = Table(L("occurred"), L("step"), L("recorded"), L("lag"), L("changes"),
                  title=L("timeline"))
    for item in view.get("timeline", []):
        changes = []
        for ch in item["changes"]:
            after = ch["to"] or "—"
            changes.append(f"{short_label(ch['clock'], lang) if ch['clock'] != 'case' else L('outcome')}: "
                           f"{L(ch['from']) if ch['from'] else '·'} → "
                           f"[{colours.get(after, 'white')}]{L(after)}[/]")
        occurred = _short(item["at"])
        if "originally_occurred_at" in item:
            occurred += f"\n({L('correction')} ← {_short(item['originally_occurred_at'])})"
        step = L(item["type"]) if item["event_id"] is None else f"{item['type']}\n{item['event_id']}"
        table.add_row(occurred, step, _short(item.get("recorded_at")),
                      _lag(item.get("recording_lag_seconds"), lang), "\n".join(changes))
    console.print(table)
    knowledge = view.get("knowledge", [])
    if len(knowledge) > 1:
        known = Table(L("known_at"), L("events"), L("outcome"), L("clock"))
        for k in knowledge:
            known.add_row(_short(k["known_at"]), str(k["events"]),
                          L(k["outcome"]) if k["outcome"] else L("unfinished"),
                          ", ".join(f"{short_label(n, lang)} {L(s)}"
                                    for n, s in k["clocks"].items()))
        console.print(known)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _delta(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return ""
    points = (after - before) * 100
    colour = "green" if points > 0 else "red" if points < 0 else "white"
    return f"[{colour}]{points:+.1f}[/]"


def what_if_tables(body: dict[str, Any], lang: str, console: Console) -> None:
    L = lambda key: audit_label(key, lang)  # noqa: E731
    console.print(f"[bold]{L('what_if')} #{body['run_id']}[/]  {L('current')}: "
                  f"{body['base_policy']}  {L('what_if_policy')}: {body['policy']}  "
                  f"{L('as_of')}: {body['as_of']}")
    console.print(f"{L('cases_scored')}: {body['cases']:,}  {L('changed')}: {body['changed']:,}  "
                  f"({body['seconds']:.1f} s)")
    groups = Table(L("key"), L("current"), L("what_if_policy"), L("difference"), L("changed"))
    for key, g in body["groups"].items():
        now, then = g["current"]["rate"], g["what_if"]["rate"]
        groups.add_row(L("total") if key == "*" else key, _pct(now), _pct(then),
                       _delta(now, then), f"{g['changed']:,}")
    console.print(groups)
    if body["changed_cases"]:
        cases = Table(L("case"), L("key"), L("current"), L("what_if_policy"))
        for c in body["changed_cases"]:
            def side(s: dict[str, Any]) -> str:
                states = ", ".join(f"{short_label(n, lang)} {L(v)}" for n, v in s["clocks"].items())
                return f"{L(s['outcome']) if s['outcome'] else L('unfinished')}\n{states}"
            cases.add_row(c["case_id"], c["group"], side(c["current"]), side(c["what_if"]))
        console.print(cases)


def quality_tables(body: dict[str, Any], lang: str, console: Console) -> None:
    L = lambda key: audit_label(key, lang)  # noqa: E731
    console.print(f"[bold]{L('quality_title')}[/]  {L('as_of')}: {body['as_of']}")
    for section, title in (("by_service_point", "service_point"), ("by_clerk", "clerk")):
        if section not in body:
            continue
        table = Table(L(title), L("lag_mean"), L("lag_over_1h"), L("heaping"),
                      L("corrections_24h"), L("withdrawn_after_breach"), L("never_reached"))
        for key, s in body[section].items():
            lag = s["recording_lag"]
            heaps = [f"{short_label(c, lang)} z={h['z']:.1f}" + (" [red]![/]" if h["signal"] else "")
                     for c, h in s["deadline_heaping"].items() if h["z"] is not None]
            mean = "—" if lag["mean_minutes"] is None else f"{lag['mean_minutes']:.0f} min"
            share = "—" if lag["share_over_1h"] is None else f"{lag['share_over_1h']:.1%}"
            corrections = s["corrections"]
            most = f"{corrections['most_within_24h']}" + (
                " [red]![/]" if corrections["signal"] else "")
            w, f = s["withdrawals"], s["follow_up"]
            table.add_row(key, mean, share, "\n".join(heaps), most,
                          f"{w['after_breach']}/{w['count']}",
                          f"{f['never_reached']}/{f['closed']}")
        console.print(table)
    if body["signals"]:
        console.print(f"[bold red]{L('signals')}[/]: " + ", ".join(
            f"{s['key']} {s['signal']}" for s in body["signals"]))
