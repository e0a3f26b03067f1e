"""Applicant personal data is encrypted at rest and shown only when asked for with the key."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from tests.e2e.cli import run, run_json

NAME, ID_NUMBER, PHONE = "张三丰", "530102199001011234", "13800138000"


def _case_file(tmp_path: Path) -> Path:
    path = tmp_path / "pii.jsonl"
    path.write_text(json.dumps({
        "event_id": "P-1", "case_id": "P", "type": "application_received",
        "occurred_at": "2026-03-02T09:00:00+08:00",
        "data": {"service_point": "ly", "channel": "walk_in", "category": "civil", "groups": [],
                 "applicant": {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE}}},
        ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _everything_stored(url: str, tmp_path: Path) -> bytes:
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    dump = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            dump.extend(str(row) for row in conn.execute(text(f'SELECT * FROM "{table}"')))
    engine.dispose()
    return "\n".join(dump).encode()


def test_personal_data_is_encrypted_at_rest_and_hidden_unless_asked(
        env: dict[str, str], examples: Path, tmp_path: Path) -> None:
    run("network", "import", str(examples / "network.yaml"))
    assert run("import", str(_case_file(tmp_path)))[0] == 0
    run_json("report", "--format", "json")  # the projection has read the event too
    stored = _everything_stored(env["SIXHOURS_DATABASE_URL"], tmp_path)
    for secret in (NAME, ID_NUMBER, PHONE):
        assert secret.encode() not in stored, secret
    plain = run_json("case", "show", "P", "--format", "json")
    assert "applicant" not in json.dumps(plain, ensure_ascii=False)
    shown = run_json("case", "show", "P", "--format", "json", "--personal-data")
    assert shown["events"][0]["data"]["applicant"] == {"name": NAME, "id_number": ID_NUMBER,
                                                       "phone": PHONE}


def test_resubmitting_an_event_with_personal_data_is_recognised_as_the_same(
        env: dict[str, str], examples: Path, tmp_path: Path) -> None:
    run("network", "import", str(examples / "network.yaml"))
    source = _case_file(tmp_path)
    assert run("import", str(source))[0] == 0
    code, out = run("import", str(source))
    assert code == 0 and json.loads(out)["duplicates"] == 1
    changed = tmp_path / "changed.jsonl"
    changed.write_text(source.read_text(encoding="utf-8").replace(PHONE, "13900000000"),
                       encoding="utf-8")
    code, out = run("import", str(changed))
    assert code == 1
    reject = json.loads((tmp_path / "changed.jsonl.rejects.jsonl").read_text().splitlines()[0])
    assert reject["rule"] == "event_id_conflict"


def test_import_refuses_to_start_without_a_key_outside_dev_mode(
        env: dict[str, str], examples: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    run("network", "import", str(examples / "network.yaml"))
    monkeypatch.delenv("SIXHOURS_DEV_MODE")
    code, _ = run("import", str(_case_file(tmp_path)))
    assert code == 2
    monkeypatch.setenv("SIXHOURS_DEV_MODE", "1")
    assert run_json("report", "--format", "json")["volume"]["received"] == 0
