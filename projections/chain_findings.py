"""What a chain verification found, and the checks that need a query rather than the scan."""

from __future__ import annotations

from dataclasses import dataclass, replace
from hashlib import sha256
from typing import Any

from sqlalchemy import Connection, select

from projections.hash_chain import case_heads, chain, event_id_of

MESSAGES = {
    "event_altered": "event {event} of case {case} (notification {nid}) differs from the bytes "
                     "that were chained",
    "event_moved": "event {event} of case {case} (notification {nid}) was moved to another case "
                   "or version ({note})",
    "event_deleted": "event {event} of case {case} (notification {nid}) was chained but is no "
                     "longer stored",
    "event_inserted": "event {event} of case {case} (notification {nid}) is stored inside the "
                      "chained range but was never chained",
    "chain_altered": "the chain's link at notification {nid} (event {event} of case {case}) does "
                     "not follow from the one before it",
    "case_chain_altered": "case {case}'s own chain breaks at event {event} (notification {nid})",
    "case_head_altered": "case {case}'s recorded chain head is not its last link",
    "anchor_mismatch": "the chain at notification {nid} no longer reaches the head written down "
                       "then: history up to it was rewritten {note}",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    notification_id: int
    case_id: str | None
    event_id: str | None
    note: str = ""
    state: Any = None  # an inserted event's stored bytes, to read its id from

    @property
    def message(self) -> str:
        return MESSAGES[self.kind].format(event=self.event_id, case=self.case_id,
                                          nid=self.notification_id, note=self.note).strip()

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "notification_id": self.notification_id,
                "case_id": self.case_id, "event_id": self.event_id, "message": self.message}


def case_chain_findings(conn: Connection, firsts: list[tuple[int, str, int, bytes, bytes]],
                        ) -> list[Finding]:
    """Rows whose case chain continues from a row before their part: check them against the
    stored link of the case's previous version."""
    found: list[Finding] = []
    for start in range(0, len(firsts), 500):
        chunk = firsts[start:start + 500]
        wanted = {(case_id, version - 1) for _, case_id, version, _, _ in chunk}
        previous: dict[tuple[str, int], bytes] = {}
        for case_id, version, link in conn.execute(
                select(chain.c.case_id, chain.c.version, chain.c.case_link)
                .where(chain.c.case_id.in_(sorted({c for c, _ in wanted})))):
            if (case_id, version) in wanted:
                previous[(case_id, version)] = bytes(link)
        for nid, case_id, version, digest, own_link in chunk:
            before = previous.get((case_id, version - 1))
            if before is None or sha256(before + digest).digest() != own_link:
                found.append(Finding("case_chain_altered", nid, case_id, None))
    return found


def head_findings(conn: Connection, latest: dict[str, tuple[bytes, int, int]]) -> list[Finding]:
    """Each case's recorded head must be the case link of its last chained event (`latest`: the
    scan's last link, version and notification id per case)."""
    found = []
    heads = select(case_heads.c.case_id, case_heads.c.version, case_heads.c.link)
    seen = set()
    for case_id, version, link in conn.execute(heads.execution_options(yield_per=50_000)):
        seen.add(case_id)
        last = latest.get(case_id)
        if last is None or (last[0], last[1]) != (bytes(link), version):
            found.append(Finding("case_head_altered", last[2] if last else 0, case_id, None))
    for case_id in latest.keys() - seen:
        found.append(Finding("case_head_altered", latest[case_id][2], case_id, None))
    return found


def name_events(conn: Connection, log: Any, findings: list[Finding]) -> list[Finding]:
    """Fill in the event ids: as chained (the stored bytes may be garbled), else as stored."""
    nids = sorted({f.notification_id for f in findings if f.state is None})
    chained: dict[int, str | None] = {}
    for start in range(0, len(nids), 500):
        chained.update((int(n), e) for n, e in conn.execute(
            select(chain.c.notification_id, chain.c.event_id)
            .where(chain.c.notification_id.in_(nids[start:start + 500]))))
    named = []
    for f in findings:
        if f.state is not None:
            state = f.state.encode() if isinstance(f.state, str) else bytes(f.state)
            named.append(replace(f, event_id=event_id_of(state), state=None))
        else:
            named.append(replace(f, event_id=chained.get(f.notification_id)))
    return named


