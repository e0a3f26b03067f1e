"""The log of reads of personal data: who read which case's applicant data, when, and how.

Every API answer that carries personal data writes one row here first (if the row cannot be
written, the data is not shown). The row holds no personal data itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, Engine, Index, Integer, MetaData, String, Table, insert, select

from projections.tables import from_us, to_us

metadata = MetaData()

personal_data_reads = Table(
    "sixhours_personal_data_reads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("subject", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_id", String(64)),
    Column("case_id", String(64), nullable=False),
    Column("what", String(32), nullable=False),  # case | history | replay
)
Index("sixhours_personal_data_reads_case", personal_data_reads.c.case_id)


@dataclass(frozen=True)
class PersonalDataRead:
    at: datetime
    subject: str
    role: str
    token_id: str | None
    case_id: str
    what: str



def log_read(engine: Engine, read: PersonalDataRead) -> None:
    with engine.begin() as conn:
        conn.execute(insert(personal_data_reads).values(
            at_us=to_us(read.at), subject=read.subject, role=read.role, token_id=read.token_id,
            case_id=read.case_id, what=read.what))


def reads_of(engine: Engine, case_id: str) -> list[PersonalDataRead]:
    query = (select(personal_data_reads).where(personal_data_reads.c.case_id == case_id)
             .order_by(personal_data_reads.c.id))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [PersonalDataRead(at=from_us(r["at_us"]) or datetime.min, subject=r["subject"],
                             role=r["role"], token_id=r["token_id"], case_id=r["case_id"],
                             what=r["what"]) for r in rows]
