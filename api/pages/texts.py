"""Every text of the web pages in Chinese (the default) and English: one catalogue.

Clock names come from the policy module and rule messages from the rules' own catalogue
(`RuleViolation.message`), so a page says exactly what the API and the command line say.
A key not listed falls back to itself: an enum value a person can still read.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.events import SATISFACTION_LABELS
from domain.policy import CLOCK_LABELS, CLOCK_STATE_LABELS

LANGUAGES = {"zh": "zh-CN", "en": "en"}

EVENT_TYPES: Mapping[str, tuple[str, str]] = {
    "application_received": ("收到申请", "application received"),
    "onsite_requested": ("申请上门服务", "on-site service requested"),
    "arrived": ("到达", "arrived"),
    "materials_requested": ("要求补充材料", "materials requested"),
    "materials_received": ("收到补充材料", "materials received"),
    "reviewed": ("审查答复", "reviewed"),
    "transferred": ("转交", "transferred"),
    "accepted": ("受理", "accepted"),
    "assigned": ("指派", "assigned"),
    "first_meeting": ("首次会见", "first meeting"),
    "closed": ("结案", "closed"),
    "documents_reviewed": ("审查结案材料", "documents reviewed"),
    "follow_up_call": ("回访电话", "follow-up call"),
    "withdrawn": ("撤回", "withdrawn"),
    "corrected": ("更正时间", "corrected"),
    "overdue": ("超时", "went overdue"),
}

FIELDS: Mapping[str, tuple[str, str]] = {
    "case_id": ("案件编号", "case id"), "occurred_at": ("发生时间", "occurred at"),
    "service_point": ("服务点", "service point"), "channel": ("申请渠道", "channel"),
    "category": ("案件类别", "category"), "groups": ("特殊群体", "groups"),
    "mobility_impaired": ("行动不便", "mobility impaired"), "area": ("城乡", "area"),
    "applicant.name": ("申请人姓名", "applicant name"),
    "applicant.id_number": ("身份证号", "id number"), "applicant.phone": ("联系电话", "phone"),
    "who": ("到达的是", "who arrived"), "travel_minutes": ("路上用时（分钟）", "travel minutes"),
    "items": ("需补充的材料（每行一项）", "items (one a line)"),
    "decision": ("审查结论", "decision"), "reason": ("理由", "reason"),
    "to_service_point": ("转交到", "transfer to"), "handler": ("承办人编号", "handler id"),
    "handler_kind": ("承办人类别", "handler kind"), "mode": ("会见方式", "meeting mode"),
    "outcome": ("结案结果", "outcome"), "grade": ("质量评定", "grade"),
    "reached": ("是否接通", "reached"), "satisfaction": ("满意度", "satisfaction"),
    "target_event_id": ("要更正的事件", "event to correct"),
    "corrected_occurred_at": ("正确的发生时间", "correct time"),
}

VALUES: Mapping[str, tuple[str, str]] = {
    "walk_in": ("来访", "walk-in"), "hotline": ("热线", "hotline"), "online": ("网上", "online"),
    "referral": ("转介", "referral"), "outreach": ("外展", "outreach"),
    "criminal": ("刑事", "criminal"), "civil": ("民事", "civil"),
    "administrative": ("行政", "administrative"),
    "elderly": ("老年人", "elderly"), "disabled": ("残疾人", "disabled"),
    "migrant_worker": ("农民工", "migrant worker"), "woman": ("妇女", "woman"),
    "minor": ("未成年人", "minor"), "military": ("军人军属", "military"),
    "low_income": ("低收入", "low income"), "other": ("其他", "other"),
    "urban": ("城区", "urban"), "rural": ("农村", "rural"),
    "applicant": ("申请人", "applicant"), "staff": ("工作人员（上门）", "staff (on site)"),
    "granted": ("准予法律援助", "granted"), "refused": ("不予法律援助", "refused"),
    "lawyer": ("律师", "lawyer"), "grassroots_worker": ("基层法律服务工作者", "grassroots worker"),
    "aid_staff": ("法律援助机构工作人员", "legal-aid staff"), "volunteer": ("志愿者", "volunteer"),
    "in_person": ("当面", "in person"), "video": ("视频", "video"), "phone": ("电话", "phone"),
    "favourable": ("有利", "favourable"), "partially_favourable": ("部分有利", "partly favourable"),
    "unfavourable": ("不利", "unfavourable"), "mediated": ("调解", "mediated"),
    "terminated": ("终止", "terminated"),
    "excellent": ("优秀", "excellent"), "good": ("良好", "good"), "pass": ("合格", "pass"),
    "fail": ("不合格", "fail"),
    **SATISFACTION_LABELS, "true": ("是", "yes"), "false": ("否", "no"),
    # clock states and case outcomes
    **CLOCK_STATE_LABELS, "warning": ("临近超时", "warning"),
    "paused": ("暂停（等待补充材料）", "paused for materials"),
    "achieved": ("六个一小时全部达标", "achieved six hours"),
    "missed": ("未全部达标", "missed"), "unfinished": ("未办结", "not finished"),
}

TEXTS: Mapping[str, tuple[str, str]] = {
    "app": ("六个一小时", "Six Hours"), "subtitle": ("法律援助服务时限", "legal-aid service times"),
    "skip": ("跳到正文", "Skip to content"), "language": ("English", "中文"),
    "login": ("登录", "Log in"), "logout": ("退出", "Log out"), "subject": ("工号", "Staff id"),
    "password": ("密码", "Password"),
    "login_failed": ("工号或密码不正确。", "The staff id or password is not right."),
    "form_expired": ("表单已过期或不是从本系统提交的，请重新打开页面再提交。",
                     "This form has expired or did not come from these pages; open the page "
                     "again and resubmit."),
    "signed_in_as": ("当前用户", "Signed in as"),
    "role_clerk": ("经办人", "clerk"), "role_supervisor": ("督导", "supervisor"),
    "role_leadership": ("领导", "leadership"), "role_auditor": ("审计", "auditor"),
    "role_admin": ("管理员", "admin"),
    "nav_cases": ("在办案件", "Open cases"), "nav_new": ("登记申请", "Register application"),
    "nav_watch": ("预警与超时", "Warnings and overdue"), "nav_audit": ("案件审计", "Case audit"),
    "open_cases_title": ("本服务点在办案件", "Open cases of my service point"),
    "no_open_cases": ("没有在办案件。", "No open cases."),
    "read_model_note": ("列表来自统计数据，刚记录的步骤可能要几秒后才出现。",
                        "The list comes from the figures; a step recorded a moment ago may take "
                        "a few seconds to show."),
    "case": ("案件", "Case"), "clocks": ("时限", "Clocks"), "history": ("事件记录", "History"),
    "clock": ("时限", "clock"), "state": ("状态", "state"), "started": ("开始", "started"),
    "due": ("到期", "due"), "stopped": ("停止", "stopped"), "elapsed": ("已用", "elapsed"),
    "time_left": ("剩余", "time left"), "left": ("剩余", "left"), "late": ("超时", "late"),
    "minutes": ("分钟", "min"), "hours": ("小时", "h"), "days": ("天", "d"),
    "event": ("事件", "event"), "type": ("类型", "type"), "details": ("内容", "details"),
    "occurred": ("发生时间", "occurred"), "recorded": ("记录时间", "recorded"),
    "ingested": ("入库时间", "stored"), "actor": ("记录人", "by"),
    "outcome": ("结果", "outcome"), "as_of": ("计算时点", "as of"),
    "next_steps": ("下一步", "Next steps"),
    "next_steps_help": ("只列出按规则现在可以记录的步骤。",
                        "Only the steps the rules allow now are offered."),
    "no_next_steps": ("按规则本案现在没有可以记录的步骤。", "The rules allow no step now."),
    "record": ("记录", "Record"), "recorded_ok": ("已记录：", "Recorded: "),
    "not_recorded": ("未记录：", "Not recorded: "),
    "occurred_help": ("留空表示现在；补录时填写实际发生时间。",
                      "Leave empty for now; fill in the real time when recording late."),
    "optional": ("（可选）", "(optional)"), "choose": ("请选择", "choose"),
    "case_id_help": ("留空则自动编号。", "Leave empty to number it automatically."),
    "register": ("登记", "Register"), "new_case_title": ("登记新的申请", "Register an application"),
    "personal_data": ("申请人信息", "Applicant"),
    "show_personal_data": ("显示申请人信息（将记入查阅日志）",
                           "Show applicant data (the read is logged)"),
    "watch_title": ("预警与超时的步骤", "Steps in warning and overdue"),
    "nothing_to_watch": ("没有预警或超时的步骤。", "No step is in warning or overdue."),
    "acknowledge": ("已知悉", "Acknowledge"), "ack_minutes": ("静默（分钟）", "quiet for (min)"),
    "ack_comment": ("处理说明", "what is being done"),
    "acknowledged": ("已确认知悉，告警静默至 ", "Acknowledged; alerts quiet until "),
    "today_title": ("今日达标情况", "Today's figures"), "rate": ("达标率", "rate"),
    "six_hours_rate": ("六个一小时达标率", "six-hours rate"), "met_count": ("按时", "met"),
    "breached_count": ("超时", "breached"), "no_rate": ("—", "—"),
    "audit_title": ("案件时间线", "Case timeline"), "open_case": ("打开", "Open"),
    "view_happened": ("按实际发生（截至时点）", "as happened (by a time)"),
    "view_known": ("按当时所知（截至时点已入库的事件）", "as known at (events stored by a time)"),
    "view": ("查看方式", "view"), "at_time": ("时点", "time"), "show": ("显示", "Show"),
    "corrections": ("更正", "corrections"), "corrected_to": ("更正为", "corrected to"),
    "corrects": ("更正事件", "corrects"), "was": ("原为", "was"),
    "knowledge": ("系统何时知道了什么", "What was known when"),
    "events_known": ("已知事件", "events known"), "timeline_chart": ("时限图", "Clock chart"),
    "chart_help": ("横轴为时间；灰色斜线为暂停；竖线为到期时间。",
                   "Time runs left to right; hatched spans are pauses; ticks mark due times."),
    "changes": ("时限变化", "clock changes"), "error": ("出错了", "Something went wrong"),
    "back": ("返回", "Back"), "not_found": ("没有找到该案件。", "No such case."),
    "admin_home": ("管理员请使用命令行管理账号和服务网络。",
                   "Admins manage accounts and the network from the command line."),
    "policy": ("标准", "policy"), "scope": ("范围", "scope"),
}


def _pick(catalogue: Mapping[str, tuple[str, str]], key: str, lang: str) -> str:
    zh, en = catalogue.get(key, (key, key))
    return zh if lang == "zh" else en


def text(key: str, lang: str) -> str:
    """A page text in `lang` ("zh" or "en")."""
    return _pick(TEXTS, key, lang)


def value_label(value: object, lang: str) -> str:
    """An enum value (a channel, a decision, a clock state...) as people say it."""
    key = str(value).lower() if isinstance(value, bool) else str(value)
    return _pick(VALUES, key, lang)


def event_label(kind: str, lang: str) -> str:
    return _pick(EVENT_TYPES, kind, lang)


def field_label(name: str, lang: str) -> str:
    return _pick(FIELDS, name, lang)


def clock_label(name: str, lang: str) -> str:
    return _pick(CLOCK_LABELS, name, lang)
