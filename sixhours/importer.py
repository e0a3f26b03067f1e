"""`sixhours import`: stream event files into the store in batches, in constant memory.

Pass one reads every line, refuses the ones that are bad on their own, and stages the rest on
disk by case. Pass two walks the staged lines case by case and hands batches of whole cases to
the service, which checks each case over its whole history (stored plus files) and stores a
batch in one transaction. File order therefore never causes a refusal, and a re-run after a
crash stores only what is missing.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from domain.case import PointLookup
from domain.errors import RuleViolation
from domain.events import ID_PATTERN, Step, parse_event
from domain.service import CaseService
from sixhours.files import read_events

BATCH_EVENTS = 5000
FILE_ORDER = 1_000_000_000  # seq = file index * FILE_ORDER + line: file order breaks ties

Progress = Callable[[str, int, int | None], None]


@dataclass
class ImportSummary:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    rejects_files: list[Path] = field(default_factory=list)


def rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.jsonl")


def import_files(paths: Sequence[Path], service: CaseService, network: PointLookup, *,
                 now: datetime, lang: str = "zh", batch_events: int = BATCH_EVENTS,
                 progress: Progress | None = None) -> ImportSummary:
    summary = ImportSummary()
    with tempfile.TemporaryDirectory(prefix="sixhours-import-") as tmp:
        staging = _Staging(Path(tmp) / "staging.sqlite")
        for index, path in enumerate(paths):
            is_csv = path.suffix.lower() == ".csv"
            for line in read_events(path):
                summary.lines += 1
                staging.stage(index, line.number, line.text, line.raw, line.error, now, lang,
                              as_json=json.dumps(line.raw, ensure_ascii=False) if is_csv else None)
                if progress and summary.lines % 10_000 == 0:
                    progress("read", summary.lines, None)
        staging.finish_loading()
        total = staging.staged
        done = 0
        for batch in staging.batches(batch_events):
            steps = []
            for index, number, raw in batch:
                try:
                    steps.append(_step(raw, index, number, now))
                except RuleViolation as bad_line:
                    staging.reject(index, number, bad_line, lang)
            result = service.record_batch(steps, network)
            summary.stored += len(result.accepted)
            summary.duplicates += len(result.duplicates)
            for step, refusal in result.refused:
                staging.reject(step.seq // FILE_ORDER, step.seq % FILE_ORDER, refusal, lang)
            done += len(batch)
            if progress:
                progress("store", done, total)
        summary.refused = staging.write_rejects(paths)
        summary.rejects_files = [rejects_path(p) for p in paths if rejects_path(p).exists()]
        staging.close()
    return summary


def _step(raw: str, index: int, number: int, now: datetime) -> Step:
    return parse_event(orjson.loads(raw), default_recorded_at=now, seq=index * FILE_ORDER + number)


class _Staging:
    """A scratch SQLite file: staged lines sorted by case, and the refused lines."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            # raw: the event as JSON; text: the original line where it differs (CSV)
            "CREATE TABLE staged (case_id TEXT, file INTEGER, line INTEGER, raw TEXT, text TEXT);"
            "CREATE TABLE rejects (file INTEGER, line INTEGER, body TEXT);")
        self.pending: list[tuple[str, int, int, str, str | None]] = []
        self.staged = 0

    def stage(self, index: int, number: int, text: str, raw: object,
              error: RuleViolation | None, now: datetime, lang: str, *,
              as_json: str | None) -> None:
        case_id = raw.get("case_id") if isinstance(raw, dict) else None
        if error is None and not (isinstance(case_id, str) and ID_PATTERN.fullmatch(case_id)):
            # Only a line that names its case can wait for pass two to be checked in full.
            try:
                parse_event(raw, default_recorded_at=now)
                raise AssertionError("an event without a valid case_id was accepted")
            except RuleViolation as refusal:
                error = refusal
        if error is not None:
            self._reject(index, number, text, raw, error, lang)
            return
        assert isinstance(case_id, str)
        if as_json is None:
            self.pending.append((case_id, index, number, text, None))
        else:
            self.pending.append((case_id, index, number, as_json, text))
        self.staged += 1
        if len(self.pending) >= 20_000:
            self._flush()

    def _flush(self) -> None:
        self.db.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?)", self.pending)
        self.pending.clear()

    def finish_loading(self) -> None:
        self._flush()
        self.db.execute("CREATE INDEX staged_by_case ON staged (case_id, file, line)")
        self.db.execute("CREATE INDEX staged_by_line ON staged (file, line)")
        self.db.commit()

    def batches(self, size: int) -> Iterator[list[tuple[int, int, str]]]:
        """Whole cases, about `size` events a batch."""
        batch: list[tuple[int, int, str]] = []
        current = None
        rows = self.db.execute("SELECT case_id, file, line, raw FROM staged "
                               "ORDER BY case_id, file, line")
        for case_id, index, number, raw in rows:
            if case_id != current and len(batch) >= size:
                yield batch
                batch = []
            current = case_id
            batch.append((index, number, raw))
        if batch:
            yield batch

    def reject(self, index: int, number: int, refusal: RuleViolation, lang: str) -> None:
        raw, text = self.db.execute("SELECT raw, text FROM staged WHERE file=? AND line=?",
                                    (index, number)).fetchone()
        self._reject(index, number, text or raw, json.loads(raw), refusal, lang)

    def _reject(self, index: int, number: int, text: str, raw: object, refusal: RuleViolation,
                lang: str) -> None:
        fields = raw if isinstance(raw, dict) else {}
        body = {"line": number, "event_id": _text(fields.get("event_id")),
                "case_id": _text(fields.get("case_id")), "rule": refusal.code,
                "message": refusal.message(lang), "input": text}
        self.db.execute("INSERT INTO rejects VALUES (?, ?, ?)",
                        (index, number, json.dumps(body, ensure_ascii=False)))

    def write_rejects(self, paths: Sequence[Path]) -> int:
        count = 0
        for index, path in enumerate(paths):
            target = rejects_path(path)
            rows = self.db.execute("SELECT body FROM rejects WHERE file=? ORDER BY line",
                                   (index,)).fetchall()
            if not rows:
                target.unlink(missing_ok=True)
                continue
            with target.open("w", encoding="utf-8") as out:
                for (body,) in rows:
                    out.write(body + "\n")
            count += len(rows)
        return count

    def close(self) -> None:
        self.db.close()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
