"""The clocks of one case drawn along time as inline SVG: no script, no chart library.

One row per clock: a bar from its start to its stop (or to the evaluation time while it runs),
coloured by state, a tick at its due time, and its pauses hatched. A top row marks each event.
The drawing is a picture of the table beside it, which carries the same facts as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from markupsafe import Markup, escape

from api.pages.clock_rows import CSS, ClockRow

WIDTH, LEFT, RIGHT, ROW, TOP = 760, 150, 20, 30, 34


@dataclass(frozen=True)
class ChartInput:
    clocks: Sequence[ClockRow]
    pauses: Sequence[tuple[datetime, datetime | None]]  # of the review clock
    events: Sequence[tuple[datetime, str]]  # (time, label)
    as_of: datetime
    labels: dict[str, str]  # clock -> its name in the page's language
    title: str


def _span(data: ChartInput) -> tuple[datetime, datetime]:
    moments = [m for c in data.clocks for m in (c.started_at, c.stopped_at, c.due_at) if m]
    moments += [at for at, _ in data.events] + [data.as_of]
    start, end = min(moments), max(moments)
    if end - start < timedelta(minutes=10):
        end = start + timedelta(minutes=10)
    pad = (end - start) * 0.03
    return start - pad, end + pad


def clock_chart(data: ChartInput, tz: tzinfo) -> Markup:
    start, end = _span(data)
    scale = (WIDTH - LEFT - RIGHT) / (end - start).total_seconds()

    def x(moment: datetime) -> float:
        return round(LEFT + (moment - start).total_seconds() * scale, 1)

    height = TOP + ROW * (len(data.clocks) + 1) + 24
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(data.title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(data.title)}</title>",
             '<defs><pattern id="paused" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="3" height="6" class="pause-stripe"/>'
             "</pattern></defs>"]
    for at, label in data.events:
        parts.append(f'<line class="event-tick" x1="{x(at)}" x2="{x(at)}" y1="{TOP - 14}" '
                     f'y2="{TOP - 2}"><title>{escape(label)}</title></line>')
    for row, clock in enumerate(data.clocks):
        y = TOP + row * ROW
        parts.append(f'<text class="chart-label" x="{LEFT - 8}" y="{y + 18}" '
                     f'text-anchor="end">{escape(data.labels.get(clock.clock, clock.clock))}</text>')
        if clock.started_at is None:
            continue
        stop = clock.stopped_at or data.as_of
        width = max(x(stop) - x(clock.started_at), 2)
        parts.append(f'<rect class="bar {CSS.get(clock.state, "muted")}" x="{x(clock.started_at)}" '
                     f'y="{y + 6}" width="{width}" height="16" rx="2"/>')
        if clock.clock == "review":
            for begin, until in data.pauses:
                right = x(until or data.as_of)
                parts.append(f'<rect class="pause" x="{x(begin)}" y="{y + 4}" '
                             f'width="{max(right - x(begin), 2)}" height="20" fill="url(#paused)"/>')
        if clock.due_at is not None:
            parts.append(f'<line class="due-tick" x1="{x(clock.due_at)}" x2="{x(clock.due_at)}" '
                         f'y1="{y + 2}" y2="{y + 26}"/>')
    axis_y = TOP + ROW * len(data.clocks) + 6
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{axis_y}" '
                 f'y2="{axis_y}"/>')
    for i, anchor in enumerate(("start", "middle", "middle", "middle", "end")):
        moment = start + (end - start) * (i / 4)
        parts.append(f'<text class="tick-label" x="{x(moment)}" y="{axis_y + 16}" '
                     f'text-anchor="{anchor}">{moment.astimezone(tz):%m-%d %H:%M}</text>')
    parts.append(f'<line class="now-line" x1="{x(data.as_of)}" x2="{x(data.as_of)}" '
                 f'y1="{TOP - 16}" y2="{axis_y}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
