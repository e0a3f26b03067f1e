"""Titles and labels of the dashboards in Chinese (the default) and English.

The clocks' names are the policy's own (`domain.policy.CLOCK_LABELS`), so a dashboard, the
report and the alerts call a clock the same thing.
"""

from __future__ import annotations

from domain.events import SATISFACTION_LABELS
from domain.policy import CLOCK_LABELS, CLOCK_STATE_LABELS

TEXT: dict[str, tuple[str, str]] = {
    # dashboards and the folder
    "folder": ("六个一小时", "Six Hours"),
    "leadership": ("六个一小时 · 领导总览", "Six Hours · leadership overview"),
    "leadership_about": ("六个一小时达标率与 90% 目标、各时限、各县区、趋势、满意度和案件量。",
                         "The six-hours rate against its target, per clock, per county, trend, "
                         "satisfaction and volume."),
    "supervisor": ("六个一小时 · 督导", "Six Hours · supervision"),
    "supervisor_about": ("进行中、预警和超时的时限（按时限和县区），以及 Alertmanager 中的预警。",
                         "Open, warning and overdue clocks by clock and county, and the alerts "
                         "in Alertmanager."),
    "quality": ("六个一小时 · 服务质量", "Six Hours · service quality"),
    "quality_about": ("各环节用时分布、回访和满意度，以及录入延迟等数据质量信号。",
                      "Step durations, return visits and satisfaction, and the data-quality "
                      "signals such as recording lag."),
    # variables
    "window": ("统计期间", "period"), "county": ("县区", "county"), "clock": ("时限", "clock"),
    "all": ("全部", "All"),
    "today": ("今天", "today"), "7d": ("近7天", "last 7 days"), "30d": ("近30天", "last 30 days"),
    "month": ("本月", "this month"), "year": ("本年", "this year"), "all_time": ("全部", "all time"),
    # rows
    "row_objective": ("达标情况", "Objective"), "row_clocks": ("各时限", "Per clock"),
    "row_counties": ("各县区", "Per county"), "row_trend": ("趋势", "Trend"),
    "row_satisfaction": ("满意度与案件量", "Satisfaction and volume"),
    "row_open": ("进行中的时限", "Open clocks"),
    "row_alerts": ("预警（Alertmanager）", "Alerts (Alertmanager)"),
    "row_durations": ("各环节用时", "Step durations"),
    "row_follow_up": ("回访与满意度", "Return visits and satisfaction"),
    "row_data_quality": ("数据质量", "Data quality"),
    # panels
    "six_hours_rate": ("六个一小时达标率", "six-hours rate"),
    "six_hours_rate_about": ("办结案件中六个时限全部达标的比例；目标 {target}。",
                             "Share of finished cases that met all six hours; target {target}."),
    "error_budget": ("差错预算剩余", "error budget left"),
    "error_budget_about": ("目标允许的未达标案件中还剩多少（低于 0 即未达目标）。",
                           "How much of the misses the target allows is left (below 0: target missed)."),
    "satisfaction_rate": ("满意率", "satisfaction rate"),
    "satisfaction_rate_about": ("接通的回访中满意和基本满意的比例。",
                                "Satisfied and basically satisfied among reached calls."),
    "finished_cases": ("办结案件", "cases finished"),
    "clock_rates": ("各时限达标率", "rate per clock"),
    "county_rates": ("各县区六个一小时达标率", "six-hours rate per county"),
    "rate_trend": ("达标率趋势（滚动期间）", "six-hours rate, rolling"),
    "daily_finished": ("每日办结案件", "cases finished per day"),
    "satisfaction_split": ("回访结果", "follow-up calls"),
    "volume": ("案件量", "volume"),
    "calls": ("回访电话", "follow-up calls"),
    "open_clocks": ("进行中的时限", "open clocks"),
    "running": CLOCK_STATE_LABELS["running"], "overdue": CLOCK_STATE_LABELS["overdue"],
    "warning": ("预警", "warning"),
    "overdue_by_clock": ("超时（按时限）", "overdue by clock"),
    "warning_by_clock": ("预警（按时限）", "warning by clock"),
    "open_by_county": ("各县区进行中的时限", "open clocks per county"),
    "open_trend": ("预警与超时趋势", "warnings and overdue over time"),
    "worker_up": ("worker 在线", "worker up"), "alertmanager_up": ("Alertmanager 在线", "Alertmanager up"),
    "active_alerts": ("活动预警", "active alerts"),
    "acknowledged_alerts": ("已确认（静默）的预警", "acknowledged (silenced) alerts"),
    "silences": ("有效静默", "active silences"),
    "notifications": ("预警通知发送（每秒）", "notifications sent per second"),
    "notifications_failed": ("发送失败", "failed"),
    "duration_heatmap": ("各环节用时分布", "step duration distribution"),
    "duration_quantiles": ("各环节用时（中位数 / 90%）", "step duration (median / 90th percentile)"),
    "within_hour": ("一小时内完成的比例", "share done within the hour"),
    "follow_up_rate": ("回访按时率", "return visits on time"),
    "calls_reached": ("回访电话接通率", "calls reached"),
    "satisfaction_trend": ("满意率趋势（近30天滚动）", "satisfaction rate, rolling 30 days"),
    "recording_lag": ("平均录入延迟", "mean recording lag"),
    "recording_lag_about": ("记录时间与发生时间之差的平均值（不含更正）。",
                            "Mean of recorded_at − occurred_at (corrections aside)."),
    "recording_late": ("录入延迟超过 1 小时的比例", "share recorded over an hour late"),
    "deadline_heaping": ("截止前堆积（z 值）", "deadline heaping (z)"),
    "deadline_heaping_about": ("按时完成的步骤集中在时限最后一刻的程度；z ≥ {z} 值得核查。",
                               "How far stops bunch just inside the deadline; z ≥ {z} is worth a look."),
    "corrections": ("24 小时内最多更正数", "most corrections within 24 h"),
    "withdrawals_after_breach": ("超时后撤回", "withdrawn after a breach"),
    "never_reached": ("回访始终未接通", "follow-up never reached"),
    "projection_lag": ("读模型延迟", "read-model lag"),
    "projection_behind": ("未处理事件", "events behind"),
    # series
    "achieved": ("全部达标", "achieved"), "missed": ("未全部达标", "missed"),
    **SATISFACTION_LABELS, "unreached": ("未接通", "unreached"),
    "median": ("中位数", "median"), "p90": ("90%", "90th percentile"),
}


def text(key: str, lang: str, **values: object) -> str:
    zh, en = CLOCK_LABELS.get(key) or TEXT[key]
    chosen = zh if lang.startswith("zh") else en
    return chosen.format(**values) if values else chosen


def clock_names() -> list[str]:
    return list(CLOCK_LABELS)
