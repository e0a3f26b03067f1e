"""The forms for a case's next steps: which steps the rules allow now, and form -> event.

"Exactly the next steps the rules allow now" is decided by the domain itself: for every event
type (and for every choice of a field the rules read — who arrived, where to transfer to, which
event to correct) a candidate step at "now" is offered to a throw-away `Case` built from the
stored history, and only what `Case.record` accepts is offered. No table here says which step may
follow which, so the forms cannot drift from the rules.

Which fields a form has, and which of them are required, comes from the payload schema of
`domain.events` (`PAYLOADS`); this module adds only how each field is entered (a select, a
number, check boxes). A submitted form becomes the same raw event the JSON API takes, and is
validated by the same `parse_event` and recorded by the same writer, so a refusal carries the
same rule code. Values are converted to their JSON types only where the form's text is
unambiguous ("12" for an integer, "true" for a boolean); anything else is passed on as text and
refused by the rule that refuses it in the API (`wrong_type`), never coerced.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from domain.case import Case, PointLookup
from domain.errors import RuleViolation
from domain.events import (
    AREAS,
    CATEGORIES,
    CHANNELS,
    GRADES,
    GROUPS,
    HANDLER_KINDS,
    MEETING_MODES,
    OUTCOMES,
    PAYLOADS,
    SATISFACTION,
    TYPES,
    OrderedHistory,
    Step,
)
from domain.network import Network

# How each payload field is entered: (widget, choices). The choices of `who` and `decision`
# are those of the payload checks in domain/events.py.
WIDGETS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "service_point": ("point", ()), "channel": ("choice", CHANNELS),
    "category": ("choice", CATEGORIES), "groups": ("checks", GROUPS),
    "mobility_impaired": ("checkbox", ()), "area": ("choice", AREAS),
    "applicant": ("applicant", ()), "who": ("choice", ("applicant", "staff")),
    "travel_minutes": ("int", ()), "items": ("lines", ()),
    "decision": ("choice", ("granted", "refused")), "reason": ("text", ()),
    "to_service_point": ("point", ()), "handler": ("text", ()),
    "handler_kind": ("choice", HANDLER_KINDS), "mode": ("choice", MEETING_MODES),
    "outcome": ("choice", OUTCOMES), "grade": ("choice", GRADES), "reached": ("bool", ()),
    "satisfaction": ("choice", SATISFACTION), "target_event_id": ("event", ()),
    "occurred_at": ("time", ()),
}
# Fields whose value the rules read: each choice is tried on its own, and only those the rules
# accept are offered.
PROBED = ("who", "to_service_point", "target_event_id", "service_point")
APPLICANT_FIELDS = ("name", "id_number", "phone")


@dataclass(frozen=True)
class FormField:
    name: str
    widget: str
    required: bool
    choices: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)  # choice -> how it is shown

    @property
    def input_name(self) -> str:
        return f"data.{self.name}"


@dataclass(frozen=True)
class StepForm:
    type: str
    fields: tuple[FormField, ...]


def form_fields(kind: str) -> list[FormField]:
    """The fields of a step of type `kind`, from the payload schema."""
    found = []
    for name, (_, required) in PAYLOADS[kind].items():
        widget, choices = WIDGETS[name]
        found.append(FormField(name, widget, required, choices))
    return found


def _sample(spec: FormField, now: datetime) -> Any:
    """A value of the field's shape, for trying a step against the rules."""
    if spec.choices:
        return spec.choices[0]
    samples: dict[str, Any] = {"int": 0, "bool": False, "checkbox": False, "checks": [],
                               "lines": [], "time": now.isoformat(), "applicant": {}}
    return samples.get(spec.widget, "probe")


def _accepted(case_id: str, history: Sequence[Step], network: PointLookup, kind: str,
              data: dict[str, Any], now: datetime) -> bool:
    candidate = Step(event_id="sixhours-web-probe", case_id=case_id, type=kind, occurred_at=now,
                     recorded_at=now, data=data)
    try:
        Case(case_id, list(history), network).record(candidate, no_backdating=True)
    except RuleViolation:
        return False
    return True


def _probe_choices(spec: FormField, history: Sequence[Step], network: Network,
                   points: Collection[str] | None) -> tuple[str, ...]:
    if spec.widget == "point":
        wanted = network.points if points is None else [p for p in network.points if p in points]
        return tuple(sorted(wanted))
    if spec.widget == "event":
        return tuple(s.event_id for s in OrderedHistory.of(list(history)).steps
                     if s.type != "corrected")
    return spec.choices


def offered_form(case_id: str, kind: str, history: Sequence[Step], network: Network,
                 now: datetime, points: Collection[str] | None = None) -> StepForm | None:
    """The form for a step of `kind` now, with only the choices the rules accept; None when
    the rules accept no step of that kind now. `points` narrows the service points offered
    for a new case (the clerk's subtree)."""
    fields = form_fields(kind)
    base = {f.name: _sample(f, now) for f in fields if f.required or f.name in PROBED}
    if kind == "arrived":
        base["travel_minutes"] = 0
    probed = [f for f in fields if f.name in PROBED]
    if not probed:
        accepted = _accepted(case_id, history, network, kind, base, now)
        return StepForm(kind, tuple(fields)) if accepted else None
    narrowed: dict[str, FormField] = {}
    for spec in probed:
        choices = _probe_choices(spec, history, network, points)
        allowed = tuple(choice for choice in choices if _accepted(
            case_id, history, network, kind,
            {**base, spec.name: choice, **_paired(spec, choice, history)}, now))
        if not allowed:
            return None
        narrowed[spec.name] = FormField(spec.name, spec.widget, spec.required, allowed)
    return StepForm(kind, tuple(narrowed.get(f.name, f) for f in fields))


def _paired(spec: FormField, choice: str, history: Sequence[Step]) -> dict[str, Any]:
    """A correction is tried as moving its target to the target's own time."""
    if spec.name != "target_event_id":
        return {}
    ordered = OrderedHistory.of(list(history))
    return {"occurred_at": ordered.times[choice].isoformat()}


def next_steps(case_id: str, history: Sequence[Step], network: Network,
               now: datetime) -> list[StepForm]:
    """Every step the rules allow now on this case, in the order of the event vocabulary."""
    found = []
    for kind in TYPES:
        if kind == "application_received":
            continue  # a case is registered once, on a page of its own
        form = offered_form(case_id, kind, history, network, now)
        if form is not None:
            found.append(form)
    return found


# --- a submitted form -> the raw event of the JSON API ---------------------------------------

Form = Mapping[str, list[str]]


def local_time(text: str, tz: tzinfo) -> str:
    """A browser's `datetime-local` value in the office's zone, as ISO 8601 with its offset;
    text that is no time at all is passed on for the rules to refuse (`invalid_time`)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat()


def _first(form: Form, name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def _value(spec: FormField, form: Form, tz: tzinfo) -> tuple[bool, Any]:
    """(present, JSON value) of one field, as typed as the form's text allows."""
    name = spec.input_name
    text = _first(form, name)
    if spec.widget == "checks":
        return True, [v for v in form.get(name, []) if v]
    if spec.widget == "checkbox":
        return (True, True) if text in ("on", "true") else (False, None)
    if spec.widget == "applicant":
        person = {k: _first(form, f"{name}.{k}") for k in APPLICANT_FIELDS}
        person = {k: v for k, v in person.items() if v}
        return (True, person) if person else (False, None)
    if not text:
        return False, None
    if spec.widget == "int":
        return True, int(text) if text.lstrip("-").isdigit() else text
    if spec.widget == "bool":
        return True, {"true": True, "false": False}.get(text, text)
    if spec.widget == "lines":
        return True, [line.strip() for line in text.splitlines() if line.strip()]
    if spec.widget == "time":
        return True, local_time(text, tz)
    return True, text


def submitted_event(kind: str, form: Form, *, case_id: str, tz: tzinfo, now: datetime,
                    actor: str) -> dict[str, Any]:
    """The raw event (as `POST /steps` takes it) that a step form describes."""
    data: dict[str, Any] = {}
    for spec in form_fields(kind):
        present, value = _value(spec, form, tz)
        if present:
            data[spec.name] = value
    occurred = _first(form, "occurred_at")
    return {"event_id": _first(form, "event_id"), "case_id": case_id, "type": kind,
            "occurred_at": local_time(occurred, tz) if occurred else now.isoformat(),
            "actor": actor, "data": data}


def kept_values(form: Form) -> dict[str, list[str]]:
    """What the clerk typed, to fill a refused form again."""
    return {name: list(values) for name, values in form.items()}


def corrections_by_target(steps: Iterable[Step]) -> dict[str, list[Step]]:
    """Each event's corrections, to show beside the event they moved."""
    found: dict[str, list[Step]] = {}
    for step in steps:
        if step.type == "corrected":
            found.setdefault(step.data["target_event_id"], []).append(step)
    return found


def point_labels(network: Network, ids: Iterable[str]) -> dict[str, str]:
    return {pid: f"{network.points[pid].name} ({pid})" for pid in ids if pid in network.points}
