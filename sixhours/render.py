"""Terminal tables for `report` and `case show` (the JSON forms are printed as they are)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sixhours.i18n import label, short_label


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def report_tables(body: dict[str, Any], lang: str, console: Console) -> None:
    L = lambda key: label(key, lang)  # noqa: E731
    console.print(f"[bold]{L('report_title')}[/]  {L('policy')}: {body['policy']}  "
                  f"{L('period')}: {body['from']} — {body['to']}  {L('as_of')}: {body['as_of']}")
    clocks = Table(L("clock"), L("met"), L("breached"), L("rate"))
    for name, block in body["clocks"].items():
        clocks.add_row(L(name), str(block["met"]), str(block["breached"]), _pct(block["rate"]))
    cases = body["cases"]
    clocks.add_row(f"[bold]{L('cases')}[/]", str(cases["achieved"]), str(cases["missed"]),
                   f"[bold]{_pct(cases['rate'])}[/]")
    console.print(clocks)
    sat = body["satisfaction"]
    summary = Table(L("satisfaction"), L("volume"), L("open"))
    sat_lines = [f"{L(k)} {sat[k]}" for k in ("satisfied", "basically_satisfied", "dissatisfied")]
    sat_lines.append(f"{L('satisfaction_rate')} {_pct(sat['rate'])}")
    vol_lines = [f"{L(k)} {v}" for k, v in body["volume"].items()]
    open_lines = [f"{L(k)} {v}" for k, v in body["open"].items()]
    summary.add_row("\n".join(sat_lines), "\n".join(vol_lines), "\n".join(open_lines))
    console.print(summary)
    if "rows" in body:
        S = lambda key: short_label(key, lang)  # noqa: E731
        rows = Table(L("key"), *[S(n) for n in body["clocks"]], S("cases"), S("satisfaction"),
                     S("received"))
        for row in body["rows"]:
            rows.add_row(row["key"], *[_pct(b["rate"]) for b in row["clocks"].values()],
                         _pct(row["cases"]["rate"]), _pct(row["satisfaction"]["rate"]),
                         str(row["volume"]["received"]))
        console.print(rows)
    if "provenance" in body:
        console.print(provenance_line(body["provenance"], lang), style="dim")


def provenance_line(p: dict[str, Any], lang: str) -> str:
    """Where the figures came from, so that an auditor can re-derive them (issue 6)."""
    events, code = p.get("events", {}), p.get("code", {})
    head = (events.get("chain_head") or "—")[:16]
    zh = lang.startswith("zh")
    return (f"{'来源' if zh else 'provenance'}: "
            f"{'事件至' if zh else 'events through'} #{events.get('through_notification', '—')} "
            f"{'链头' if zh else 'chain head'} {head}  "
            f"{'标准' if zh else 'policy'} {p.get('policy', p.get('policy_version'))}  "
            f"{'代码' if zh else 'code'} {code.get('version', '—')}/"
            f"{str(code.get('source_sha256', ''))[:12]}")


def case_tables(view: dict[str, Any], lang: str, console: Console) -> None:
    L = lambda key: label(key, lang)  # noqa: E731
    outcome = view["outcome"]
    verdict = L("unfinished") if outcome is None else \
        f"{L(outcome['outcome'])} ({outcome['decision_time']})"
    console.print(f"[bold]{view['case_id']}[/]  {L('service_point')}: {view['service_point']}  "
                  f"{L('outcome')}: {verdict}  {L('as_of')}: {view['as_of']}")
    clocks = Table(L("clock"), L("state"), L("started"), L("due"), L("stopped"), L("elapsed"))
    colours = {"met": "green", "breached": "red", "overdue": "red", "running": "yellow"}
    for name, c in view["clocks"].items():
        state = f"[{colours.get(c['state'], 'white')}]{L(c['state'])}[/]"
        clocks.add_row(L(name), state, c["started_at"], c["due_at"], c["stopped_at"] or "",
                       f"{c['elapsed_seconds'] / 60:.1f} min")
    console.print(clocks)
    events = Table(L("event"), L("type"), L("occurred"), L("recorded"))
    for e in view["events"]:
        occurred = e["occurred_at"]
        if "originally_occurred_at" in e:
            occurred += f"\n(原 {e['originally_occurred_at']})" if lang.startswith("zh") \
                else f"\n(was {e['originally_occurred_at']})"
        events.add_row(e["event_id"], e["type"], occurred, e["recorded_at"])
    console.print(events)
