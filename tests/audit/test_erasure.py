"""PIPL: erasure by destroying the case's data key; the chain still verifies; key rotation."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from tests.audit.store import execute, is_sqlite, write_jsonl
from tests.e2e.cli import run, run_json

NAME, ID_NUMBER, PHONE = "李四光", "530102198805051234", "13912345678"


def _application(case_id: str) -> dict:  # type: ignore[type-arg]
    return {"event_id": f"{case_id}-1", "case_id": case_id, "type": "application_received",
            "occurred_at": "2026-03-02T09:00:00+08:00",
            "data": {"service_point": "ly", "channel": "walk_in", "category": "civil",
                     "groups": [], "applicant": {"name": NAME, "id_number": ID_NUMBER,
                                                 "phone": PHONE}}}


def _wrapped_key(url: str, case_id: str) -> bytes:
    rows = execute(url, "SELECT wrapped_key FROM sixhours_case_keys WHERE case_id = :c", c=case_id)
    return bytes(rows[0][0]) if rows else b""


def _database_bytes(url: str) -> bytes:
    """Everything the database holds: the SQLite files, or every PostgreSQL table's rows and the
    keys table's data file where this process may read it."""
    if is_sqlite(url):
        db = Path(url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    dump = []
    tables = [r[0] for r in execute(url, "SELECT tablename FROM pg_tables WHERE schemaname = "
                                         "'public'")]
    for table in tables:
        for row in execute(url, f'SELECT * FROM "{table}"'):
            dump.append(b"|".join(bytes(v) if isinstance(v, bytes | memoryview) else
                                  str(v).encode() for v in row))
    home = execute(url, "SHOW data_directory")[0][0]
    relative = execute(url, "SELECT pg_relation_filepath('sixhours_case_keys')")[0][0]
    path = Path(home) / relative
    if os.access(path, os.R_OK):
        dump.append(path.read_bytes())
    return b"\n".join(dump)


def test_erasure_destroys_the_key_and_the_chain_still_verifies(
        env: dict[str, str], examples: Path, tmp_path: Path) -> None:
    url = env["SIXHOURS_DATABASE_URL"]
    run("network", "import", str(examples / "network.yaml"))
    source = write_jsonl(tmp_path / "pii.jsonl", [_application("P-1"), _application("P-2")])
    assert run("import", str(source))[0] == 0
    assert run("audit", "verify")[0] == 0
    wrapped = _wrapped_key(url, "P-1")
    assert len(wrapped) > 32 and wrapped in _database_bytes(url)

    erased = run_json("audit", "erase", "P-1", "--request", "PIPL-2026-0007", "--yes")

    assert erased["key_destroyed"] and erased["scrubbed"]
    assert _wrapped_key(url, "P-1") == b"" and wrapped not in _database_bytes(url)
    shown = run_json("case", "show", "P-1", "--format", "json", "--personal-data")
    applicant = shown["events"][0]["data"]["applicant"]
    assert set(applicant) == {"erased_at"}
    other = run_json("case", "show", "P-2", "--format", "json", "--personal-data")
    assert other["events"][0]["data"]["applicant"]["name"] == NAME  # only P-1 was erased
    stored = _database_bytes(url)
    for secret in (NAME, ID_NUMBER, PHONE):
        assert secret.encode() not in stored
    code, out = run("audit", "verify", "--format", "json")
    assert code == 0 and json.loads(out)["ok"]
    log = run_json("audit", "log", "--case", "P-1")
    assert [(e["action"], e["detail"]["request"]) for e in log if e["kind"] == "admin"] == [
        ("personal_data.erase", "PIPL-2026-0007")]
    # and the read of its (erased) personal data above, by the operator at the command line
    assert [(e["action"], e["detail"]["role"]) for e in log if e["kind"] != "admin"] == [
        ("read:case", "cli")]
    # Importing the erased data again is refused, not silently stored again.
    code, _ = run("import", str(source))
    assert code == 1
    assert _wrapped_key(url, "P-1") == b""


def test_rotating_the_master_key_keeps_personal_data_readable(
        env: dict[str, str], examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(32)).decode()
    monkeypatch.delenv("SIXHOURS_DEV_MODE")
    monkeypatch.setenv("SIXHOURS_SECRET_KEY", old)
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(write_jsonl(tmp_path / "pii.jsonl", [_application("R-1")])))[0] == 0

    monkeypatch.setenv("SIXHOURS_SECRET_KEY", new)
    monkeypatch.setenv("SIXHOURS_OLD_SECRET_KEY", old)
    assert run_json("audit", "rotate-master-key") == {"rewrapped": 1, "already": 0}
    assert run_json("audit", "rotate-master-key") == {"rewrapped": 0, "already": 1}  # resumable

    shown = run_json("case", "show", "R-1", "--format", "json", "--personal-data")
    assert shown["events"][0]["data"]["applicant"]["name"] == NAME
    assert [e["action"] for e in run_json("audit", "log")][:3] == [
        "read:case", "keys.rotate_master", "keys.rotate_master"]
