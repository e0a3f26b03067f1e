"""Personal data encrypted at rest: one data key per case, wrapped by the master key.

A per-case key lets an applicant's data be erased later by destroying just that key, while the
events (and any hash over their stored bytes) stay as they were.
"""

from __future__ import annotations

import base64
import json
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from projections.tables import case_keys

PREFIX = "v1:"
CACHE_SIZE = 20_000


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
        raw = base64.b64decode(sealed.removeprefix(PREFIX))
        plain = self._key(case_id).decrypt(raw[:12], raw[12:], case_id.encode())
        return dict(json.loads(plain))

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
