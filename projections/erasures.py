"""The register of erased personal data: which case's applicant data was destroyed, and when.

Erasure destroys the case's data key (crypto-shredding); the events keep their ciphertext, so
the hash chain over the stored bytes still verifies. The register holds no personal data: the
case id, the time, and the request's reference (a ticket number, never a name).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, select

from projections.tables import from_us, to_us

metadata = MetaData()

erasures = Table(
    "sixhours_erasures", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("erased_at_us", BigInteger, nullable=False),
    Column("request", String(64), nullable=False),
)


def record_erasure(conn: Connection, case_id: str, at: datetime, request: str) -> None:
    if conn.execute(select(erasures.c.case_id).where(erasures.c.case_id == case_id)).first():
        return  # erased before: the first erasure's time stands
    conn.execute(erasures.insert().values(case_id=case_id, erased_at_us=to_us(at),
                                          request=request))


def erased_at(conn: Connection, case_id: str) -> datetime | None:
    found = conn.execute(select(erasures.c.erased_at_us).where(erasures.c.case_id == case_id)
                         ).scalar()
    return from_us(found) if found is not None else None
