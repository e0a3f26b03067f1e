"""User-facing labels in Chinese (the default) and English."""

from __future__ import annotations

from domain.events import SATISFACTION_LABELS
from domain.policy import CLOCK_LABELS, CLOCK_STATE_LABELS

LABELS: dict[str, tuple[str, str]] = {
    **CLOCK_STATE_LABELS, **SATISFACTION_LABELS,
    "clock": ("时限", "clock"),
    "rate": ("达标率", "rate"), "cases": ("六个一小时", "six hours"),
    "achieved": ("全部达标", "achieved"), "missed": ("未全部达标", "missed"),
    "satisfaction": ("满意度", "satisfaction"), "volume": ("案件量", "volume"),
    "received": ("收到申请", "received"), "granted": ("准予援助", "granted"),
    "refused": ("不予援助", "refused"), "withdrawn": ("撤回", "withdrawn"),
    "closed": ("结案", "closed"), "open_cases": ("在办案件", "open cases"),
    "open": ("进行中的时限", "open clocks"),
    "key": ("分组", "group"), "report_title": ("六个一小时 达标情况", "Six hours compliance"),
    "period": ("统计期间", "period"), "as_of": ("统计时点", "as of"),
    "policy": ("标准", "policy"), "state": ("状态", "state"), "started": ("开始", "started"),
    "stopped": ("停止", "stopped"), "due": ("到期", "due"), "elapsed": ("用时", "elapsed"),
    "decision": ("判定时间", "decided at"), "event": ("事件", "event"), "type": ("类型", "type"),
    "occurred": ("发生时间", "occurred"), "recorded": ("记录时间", "recorded"),
    "outcome": ("结果", "outcome"), "unfinished": ("未办结", "not finished"),
    "service_point": ("服务点", "service point"), "satisfaction_rate": ("满意率", "rate"),
}

SHORT_CLOCK_LABELS: dict[str, tuple[str, str]] = {
    "reach": ("到达", "reach"), "onsite": ("上门", "onsite"), "review": ("审查", "review"),
    "assignment": ("指派", "assign"), "first_meeting": ("会见", "meet"),
    "follow_up": ("回访", "follow-up"), "cases": ("六小时", "6h"),
    "satisfaction": ("满意", "satisf."), "received": ("收案", "recv."),
}


def short_label(key: str, lang: str) -> str:
    zh, en = SHORT_CLOCK_LABELS.get(key, (key, key))
    return zh if lang.startswith("zh") else en


def label(key: str, lang: str) -> str:
    if key in CLOCK_LABELS:
        zh, en = CLOCK_LABELS[key]
    else:
        zh, en = LABELS.get(key, (key, key))
    return zh if lang.startswith("zh") else en
