"""Personal data encrypted at rest: one data key per case, wrapped by the master key.

A per-case key lets an applicant's data be erased later by destroying just that key, while the
events (and any hash over their stored bytes) stay as they were.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from projections.admin_log import AdminAction, log_action, log_action_in
from projections.erasures import erased_at, record_erasure
from projections.tables import case_keys

PREFIX = "v1:"
CACHE_SIZE = 20_000
SCRUB_WAITS = 100  # tenths of a second
# Any database's: a transaction open elsewhere on the server also holds the horizon back.
_OLDER_SNAPSHOTS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
    "AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL) AND xact_start <= :since")


class PersonalDataUnavailable(LookupError):
    """The case's data key is missing (never made, or destroyed by an erasure)."""


class Vault:
    def __init__(self, engine: Engine, master_key: Callable[[], bytes]) -> None:
        self.engine = engine
        self._master_key = master_key  # asked for on first use: reading figures needs no key
        self._master: AESGCM | None = None
        self._keys: OrderedDict[str, AESGCM] = OrderedDict()

    @property
    def master(self) -> AESGCM:
        if self._master is None:
            self._master = AESGCM(self._master_key())
        return self._master

    def prepare(self, case_ids: Iterable[str]) -> None:
        """Make sure these cases have data keys, creating the missing ones in one transaction."""
        wanted = sorted(set(case_ids) - set(self._keys))
        if not wanted:
            return
        found = self._load(wanted)
        missing = [c for c in wanted if c not in found]
        if missing:
            rows = [{"case_id": c, "wrapped_key": self._wrap(c, AESGCM.generate_key(256))}
                    for c in missing]
            with self.engine.begin() as conn:
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                conn.execute(dialect.insert(case_keys).on_conflict_do_nothing(), rows)
            found.update(self._load(missing))

    def seal(self, case_id: str, personal: Mapping[str, str]) -> str:
        nonce = os.urandom(12)
        plain = json.dumps(dict(personal), ensure_ascii=False, sort_keys=True).encode()
        sealed = self._key(case_id).encrypt(nonce, plain, case_id.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def unseal(self, case_id: str, sealed: str) -> dict[str, str]:
        """The applicant's data, or where it was erased only when (its key is gone for good)."""
        raw = base64.b64decode(sealed.removeprefix(PREFIX))
        try:
            key = self._key(case_id)
        except PersonalDataUnavailable:
            with self.engine.connect() as conn:
                erased = erased_at(conn, case_id)
            if erased is None:
                raise
            return {"erased_at": erased.isoformat()}
        plain = key.decrypt(raw[:12], raw[12:], case_id.encode())
        return dict(json.loads(plain))

    # --- the personal-data lifecycle (issue 6) ------------------------------------------------

    def erase(self, case_id: str, at: datetime, request: str, actor: str) -> dict[str, Any]:
        """Destroy the case's data key (crypto-shredding), register the erasure and log the
        admin action in the same transaction, then scrub the freed bytes from the files."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete = ON")  # freed cells are zeroed
            destroyed = conn.execute(delete(case_keys).where(case_keys.c.case_id == case_id)
                                     ).rowcount
            record_erasure(conn, case_id, at, request)
            log_action_in(conn, AdminAction(at, actor, "personal_data.erase", case_id,
                                            {"request": request, "key_destroyed": bool(destroyed)}))
        self._keys.pop(case_id, None)
        return {"case_id": case_id, "key_destroyed": bool(destroyed), "scrubbed": self.scrub()}

    def scrub(self) -> bool:
        """Push deleted keys out of the database files: on SQLite the write-ahead log is
        checkpointed and truncated; on PostgreSQL the keys table is rewritten (VACUUM FULL).
        False when a reader held a snapshot from before the erasure: run it again later."""
        if self.engine.dialect.name == "sqlite":
            raw = self.engine.raw_connection()  # outside any transaction, which would block it
            try:
                busy = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                raw.close()
            return busy is None or busy[0] == 0
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # VACUUM FULL copies a deleted row that an older transaction on the server (of any
            # database, measured here) may still see: wait a little for those, else say so.
            now = conn.exec_driver_sql("SELECT clock_timestamp()").scalar()
            clear = False
            for _ in range(SCRUB_WAITS):
                if not conn.execute(_OLDER_SNAPSHOTS, {"since": now}).scalar():
                    clear = True
                    break
                time.sleep(0.1)
            conn.exec_driver_sql(f"VACUUM FULL {case_keys.name}")
        return clear

    def rotate_master(self, old: bytes, new: bytes, actor: str, at: datetime,
                      batch: int = 5000) -> dict[str, int]:
        """Re-wrap every case key under a new master key. Resumable: a key that the new master
        already opens is left as it is, so a run stopped half-way is finished by running it
        again. Events are not touched: the data keys themselves stay."""
        olds, news = AESGCM(old), AESGCM(new)
        done = {"rewrapped": 0, "already": 0}
        after = ""
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(select(case_keys).where(case_keys.c.case_id > after)
                                    .order_by(case_keys.c.case_id).limit(batch)).all()
                for case_id, wrapped in rows:
                    aad = b"case-key:" + case_id.encode()
                    wrapped = bytes(wrapped)
                    try:
                        news.decrypt(wrapped[:12], wrapped[12:], aad)
                        done["already"] += 1
                        continue
                    except InvalidTag:
                        key = olds.decrypt(wrapped[:12], wrapped[12:], aad)
                    nonce = os.urandom(12)
                    conn.execute(update(case_keys).where(case_keys.c.case_id == case_id)
                                 .values(wrapped_key=nonce + news.encrypt(nonce, key, aad)))
                    done["rewrapped"] += 1
            if not rows:
                break
            after = rows[-1][0]
        self._master, self._keys = AESGCM(new), OrderedDict()
        log_action(self.engine, AdminAction(at, actor, "keys.rotate_master", None, done))
        return done

    def _key(self, case_id: str) -> AESGCM:
        if case_id not in self._keys:
            self._load([case_id])
        if case_id not in self._keys:
            raise PersonalDataUnavailable(f"case {case_id} has no personal-data key")
        self._keys.move_to_end(case_id)
        return self._keys[case_id]

    def _load(self, case_ids: list[str]) -> dict[str, AESGCM]:
        found: dict[str, AESGCM] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(case_ids), 900):
                chunk = case_ids[start:start + 900]
                for case_id, wrapped in conn.execute(select(case_keys).where(
                        case_keys.c.case_id.in_(chunk))):
                    found[case_id] = AESGCM(self._unwrap(case_id, bytes(wrapped)))
        for case_id, key in found.items():
            self._keys[case_id] = key
        while len(self._keys) > CACHE_SIZE:
            self._keys.popitem(last=False)
        return found

    def _wrap(self, case_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self.master.encrypt(nonce, key, b"case-key:" + case_id.encode())

    def _unwrap(self, case_id: str, wrapped: bytes) -> bytes:
        return self.master.decrypt(wrapped[:12], wrapped[12:], b"case-key:" + case_id.encode())
