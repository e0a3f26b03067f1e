"""The composition root: build the store, read models and queries from Settings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import Any
from urllib.parse import unquote, urlparse

from sqlalchemy import Engine, create_engine, event, text

from domain.calendar import WorkCalendar, parse_year_days
from domain.network import Network
from domain.policy import Policy, builtin_policies, policy_from_mapping
from domain.service import CaseService
from monitors.leader import lock_key
from projections.case_clocks import CaseProjection, fingerprint
from projections.hash_chain import NAME as CHAIN
from projections.hash_chain import extend_chain
from projections.live import ListenWakeup, PollingWakeup, Wakeup, run_worker
from projections.network_store import load_network
from projections.queries import ReportQueries
from projections.read_models import versions
from projections.rebuild import BuildSource
from projections.runner import CatchUp, StoreNotifications, position_of
from projections.side_tables import create_side_tables
from projections.sync import Streams, stage, sync_read_models
from projections.tables import CaseTables, case_tables, metadata
from sixhours.files import read_yaml
from sixhours.recorders import OrjsonTranscoder
from sixhours.settings import Settings
from sixhours.vault import Vault


def utc_now() -> datetime:
    return datetime.now(UTC)


def event_store_env(url: str, *, create_tables: bool = True) -> dict[str, str]:
    """eventsourcing's environment for SIXHOURS_DATABASE_URL."""
    env = {"ORIGINATOR_ID_TYPE": "text", "CREATE_TABLE": "y" if create_tables else "n"}
    if url.startswith("sqlite:///"):
        return {**env, "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": url.removeprefix("sqlite:///"),
                "SQLITE_LOCK_TIMEOUT": "60",
                "APPLICATION_RECORDER_TOPIC": "sixhours.recorders:SQLiteCaseRecorder"}
    parts = urlparse(url)
    return {**env, "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": "4",
            "APPLICATION_RECORDER_TOPIC": "sixhours.recorders:PostgresCaseRecorder"}


def read_model_engine(url: str, *, durable: bool = False) -> Engine:
    """An engine for our own tables. On SQLite, read models commit without waiting for the disk
    (WAL with synchronous=NORMAL: a power cut may lose the last batches, rows and position
    together, and the worker redoes them); `durable` tables (personal-data keys) wait."""
    if url.startswith("sqlite:///"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            # Debian builds SQLite with secure_delete on: every freed page is zeroed, so
            # dropping a retired read-model version rewrote its whole size (4.5 s at a million
            # events). Read models hold no personal data; the keys' connections keep it on, so
            # an erased case's key leaves nothing behind.
            cursor.execute(f"PRAGMA secure_delete={'ON' if durable else 'OFF'}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock up front, so two writers queue instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    sa_url = url.replace("postgres://", "postgresql://", 1).replace(
        "postgresql://", "postgresql+psycopg://", 1)
    return create_engine(sa_url, pool_pre_ping=True)


# Events of the hash chain per worker pass, so that a long backlog of the chain delays the read
# models by no more than chaining these takes: about 0.1 s (5,000 gave a median delay of 0.34 s
# in the freshness benchmark while a million imported events were being chained).
CHAIN_SLICE = 1000


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Processes that start together (a worker beside an import) create the tables one at a time:
    PostgreSQL fails one of two concurrent CREATE TABLE IF NOT EXISTS of the same table with
    "tuple concurrently updated". SQLite's own write lock already takes them in turn."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = lock_key("schema")
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


@dataclass
class Container:
    settings: Settings
    # False in a build process: its parent made every table, and two processes creating them at
    # once clash on PostgreSQL ("tuple concurrently updated").
    create_tables: bool = True
    _closers: list[Any] = field(default_factory=list)

    @cached_property
    def engine(self) -> Engine:
        engine = read_model_engine(self.settings.database_url)
        if self.create_tables:
            with schema_lock(engine):
                metadata.create_all(engine)
                create_side_tables(engine)
        return engine

    @cached_property
    def service(self) -> CaseService:
        self.engine  # noqa: B018 - tables first: the vault's keys live there
        keys_engine = read_model_engine(self.settings.database_url, durable=True)
        self._closers.append(keys_engine)
        vault = Vault(keys_engine, self.settings.master_key)
        with schema_lock(self.engine) if self.create_tables else nullcontext():
            service = CaseService(event_store_env(self.settings.database_url,
                                                  create_tables=self.create_tables), vault,
                                  utc_now, OrjsonTranscoder())
        self._closers.append(service)
        return service

    @cached_property
    def calendar(self) -> WorkCalendar:
        supplied = None
        if self.settings.calendar_file is not None:
            supplied = parse_year_days(read_yaml(self.settings.calendar_file))
        return WorkCalendar(supplied)

    @cached_property
    def policies(self) -> dict[str, Policy]:
        policies = builtin_policies(self.calendar)
        for path in self.settings.policy_files:
            policy = policy_from_mapping(read_yaml(path), self.calendar)
            policies[policy.name] = policy
        return policies

    def network(self) -> Network:
        return load_network(self.engine)

    def case_projection(self, tables: CaseTables) -> CaseProjection:
        return CaseProjection(self.policies[self.settings.default_policy], self.settings.tz,
                              self.network().area_of, tables)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.policies[self.settings.default_policy], self.settings.tz)

    @cached_property
    def notifications(self) -> StoreNotifications:
        return StoreNotifications(self.service.recorder, self.service.mapper)

    def catch_up(self, progress: Any = None, *, rebuild: bool = False, batch: int | None = None,
                 should_stop: Callable[[], bool] = lambda: False,
                 chain_limit: int | None = None) -> CatchUp:
        """Bring the read model to the current code and policy, then up to the last event.

        A version being built (after a code or policy change, or on request) is caught up
        first and then made the active one; the active one is then caught up."""
        done = sync_read_models(self.engine, self.notifications, self.streams(), self.fingerprint,
                                self.case_projection, progress=progress, rebuild=rebuild,
                                batch=batch, should_stop=should_stop)
        # The store's hash chain follows the same notifications (issue 6: tamper evidence).
        # Its first pass over a freshly imported store takes about as long as the rebuild.
        extend_chain(self.engine, self.service.recorder, should_stop=should_stop,
                     progress=stage(progress, "hash chain"), limit=chain_limit)
        return done

    def live_pass(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """One pass of the worker: the read models up to the last event, then one slice of the
        hash chain. True while the chain is behind, so that the next pass starts at once.

        After a big import the chain is a minute or more behind; chained whole in one pass, it
        held every new step out of the read models for that long."""
        self.catch_up(should_stop=should_stop, chain_limit=CHAIN_SLICE)
        with self.engine.connect() as conn:
            chained = position_of(conn, CHAIN)
        return chained < (self.service.recorder.max_notification_id() or 0)

    def streams(self) -> Streams:
        """The event store read case by case, for builds of a new read-model version."""
        recorder = self.service.recorder
        return Streams(recorder.select_streams,  # type: ignore[attr-defined]
                       recorder.select_stream_splits,  # type: ignore[attr-defined]
                       self.service.mapper.transcoder.decode,
                       partial(open_build_source, self.settings),
                       self.settings.build_workers, self.settings.build_parallel_from)

    def build_source(self, prefix: str) -> BuildSource:
        """This container's connections and code, building the version with this prefix."""
        streams = self.streams()
        return BuildSource(self.engine, self.case_projection(case_tables(prefix)), streams.read,
                           streams.split, streams.decode, owner=self)

    def wakeup(self) -> Wakeup:
        """How the worker learns of new events: LISTEN/NOTIFY on PostgreSQL, polling on SQLite."""
        url = self.settings.database_url
        if url.startswith("sqlite:///"):
            return PollingWakeup(self.service.recorder.max_notification_id)
        channel = self.service.recorder.channel_name  # type: ignore[attr-defined]
        return ListenWakeup(url.replace("postgres://", "postgresql://", 1), channel)

    def run_worker(self, stop: threading.Event) -> None:
        wakeup = self.wakeup()
        try:
            run_worker(self.live_pass, wakeup, stop)
        finally:
            wakeup.close()

    def active_tables(self) -> CaseTables:
        active = versions(self.engine).active
        if active is None:
            self.catch_up()
            active = versions(self.engine).active
        assert active is not None
        return active

    @cached_property
    def queries(self) -> ReportQueries:
        return ReportQueries(self.engine, self.active_tables, self.network, self.policies,
                             self.settings.default_policy, self.settings.tz)

    def close(self) -> None:
        for closer in self._closers:
            closer.dispose() if isinstance(closer, Engine) else closer.close()
        if "engine" in self.__dict__:
            self.engine.dispose()


def open_build_source(settings: Settings, prefix: str) -> BuildSource:
    """A build process's own container, building the version with this prefix."""
    return Container(settings, create_tables=False).build_source(prefix)


def build(settings: Settings) -> Container:
    return Container(settings)
