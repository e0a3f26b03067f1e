"""Refusals: every rule has a stable code, and a message in Chinese and English.

The codes are part of the contract (import rejects and API problem details carry them), so they
never change once released; messages may be reworded.
"""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES: Mapping[str, tuple[str, str]] = {
    # Shape of an event line.
    "invalid_json": ("该行不是有效的 JSON：{detail}", "the line is not valid JSON: {detail}"),
    "not_an_object": ("事件必须是 JSON 对象", "an event must be a JSON object"),
    "missing_field": ("缺少字段 {field}", "field {field} is missing"),
    "unknown_field": ("不认识的字段 {field}", "unknown field {field}"),
    "system_field": ("字段 {field} 由系统设置，不能提交", "field {field} is set by the system"),
    "wrong_type": ("字段 {field} 应为{expected}", "field {field} must be {expected_en}"),
    "invalid_value": ("字段 {field} 的值 {value} 不在允许范围内：{allowed}",
                      "field {field} has value {value}; allowed: {allowed}"),
    "invalid_id": ("{field} 格式不正确：{value}", "{field} is malformed: {value}"),
    "unknown_type": ("不认识的事件类型 {value}", "unknown event type {value}"),
    "invalid_time": ("{field} 不是 ISO 8601 时间：{value}", "{field} is not an ISO 8601 time: {value}"),
    "naive_time": ("{field} 缺少 UTC 偏移：{value}", "{field} has no UTC offset: {value}"),
    "future_event": ("发生时间 {occurred_at} 晚于记录时间 {recorded_at} 超过 5 分钟",
                     "occurred_at {occurred_at} is more than 5 minutes after recorded_at "
                     "{recorded_at}"),
    "event_id_conflict": ("事件编号 {event_id} 已用于内容不同的事件",
                          "event_id {event_id} was already used for different content"),
    # The service network.
    "unknown_service_point": ("服务点 {value} 不存在", "service point {value} does not exist"),
    "retired_service_point": ("服务点 {value} 已撤销，不再接收新案件",
                              "service point {value} is retired and takes no new cases"),
    "same_service_point": ("案件已在服务点 {value}", "the case is already at service point {value}"),
    # Which step may follow which.
    "case_not_started": ("案件尚无“收到申请”事件", "the case has no application_received yet"),
    "application_not_first": ("“收到申请”必须是案件的第一个且唯一的事件",
                              "application_received must be the first event, exactly once"),
    "already_recorded": ("{type} 在本案中只能记录一次", "{type} may occur only once in a case"),
    "after_review": ("{type} 必须在审查答复之前", "{type} must come before reviewed"),
    "needs_onsite_request": ("工作人员到达之前须有上门服务申请",
                             "arrived who=staff needs an earlier onsite_requested"),
    "review_clock_not_open": ("审查计时未开始或已停止", "the review clock is not open"),
    "review_clock_paused": ("审查计时正在等待补充材料", "the review clock is paused for materials"),
    "review_clock_not_paused": ("审查计时没有在等待补充材料",
                                "the review clock is not paused for materials"),
    "needs_arrival": ("热线或外展案件审查前须有到达记录",
                      "a hotline or outreach case needs an earlier arrived before reviewed"),
    "needs_granted_review": ("受理须在审查同意之后", "accepted needs an earlier granting reviewed"),
    "needs_acceptance": ("指派须在受理之后", "assigned needs an earlier accepted"),
    "after_assignment": ("转交必须在指派之前", "transferred must come before assigned"),
    "case_closed": ("案件已结案", "the case is already closed"),
    "needs_assignment": ("会见须在指派之后", "first_meeting needs an earlier assigned"),
    "needs_first_meeting": ("结案须在首次会见之后", "closed needs an earlier first_meeting"),
    "needs_closure": ("{type} 须在结案之后", "{type} needs an earlier closed"),
    "follow_up_already_reached": ("回访已经接通，不能再记录回访",
                                  "a reached follow_up_call was already recorded"),
    "case_refused": ("案件已被审查拒绝", "the case was refused at review"),
    "case_withdrawn": ("案件已撤回，不能再记录任何事件",
                       "the case was withdrawn; nothing may follow"),
    "correction_target_unknown": ("更正的目标事件 {value} 不属于本案",
                                  "correction target {value} is not an event of this case"),
    "correction_of_correction": ("不能更正一个更正事件", "a correction cannot target a correction"),
    "correction_target_not_earlier": ("更正的目标事件必须早于更正本身",
                                      "the corrected event must occur before the correction"),
    "before_latest_event": ("发生时间早于本案最新事件 {latest}；补录过去的时间请使用更正",
                            "occurred_at is earlier than the case's latest event {latest}; "
                            "use corrected to change past times"),
}


class RuleViolation(Exception):
    """An event refused by a rule of SPEC §3, naming the case, the event and the rule."""

    def __init__(
        self,
        code: str,
        *,
        case_id: str | None = None,
        event_id: str | None = None,
        **params: object,
    ) -> None:
        if code not in MESSAGES:
            raise KeyError(f"no message for rule code {code}")
        self.code = code
        self.case_id = case_id
        self.event_id = event_id
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh") -> str:
        zh, en = MESSAGES[self.code]
        params = {"expected": "", "expected_en": "", "case_id": self.case_id,
                  "event_id": self.event_id, **self.params}
        text = (zh if lang.startswith("zh") else en).format_map(_Lenient(params))
        conflict = self.params.get("conflicts_with")
        if conflict is not None:
            text += (f"（与事件 {conflict} 冲突）" if lang.startswith("zh")
                     else f" (it conflicts with event {conflict})")
        if lang.startswith("zh"):
            return f"案件 {self.case_id or '?'}，事件 {self.event_id or '?'}：{text}（规则 {self.code}）"
        return f"case {self.case_id or '?'}, event {self.event_id or '?'}: {text} (rule {self.code})"

    def about(self, *, case_id: str | None, event_id: str | None) -> RuleViolation:
        """Name the case and event where the rule check could not know them."""
        self.case_id = self.case_id or case_id
        self.event_id = self.event_id or event_id
        return self


class _Lenient(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
