"""The tables of ours beside the case read models: the audit and personal-data logs, the hash
chain, publications, what-if runs, erasures and web accounts.

They are made once, where the composition root opens the database (`Container.engine`), not
before each write or read that uses them: `create_all` is a catalogue round trip per table, and
on a request path it is paid again and again for nothing.
"""

from __future__ import annotations

from sqlalchemy import Engine

from projections import (
    accounts,
    admin_log,
    erasures,
    hash_chain,
    personal_data_reads,
    publications,
    what_if_tables,
)

MODULES = (admin_log, personal_data_reads, erasures, hash_chain, publications, what_if_tables,
           accounts)


def create_side_tables(engine: Engine) -> None:
    for module in MODULES:
        module.metadata.create_all(engine)
