"""Point-in-time recovery of PostgreSQL from a base backup and archived WAL.

The test builds a throwaway cluster on a free port of 127.0.0.1 that archives its WAL to a
folder. It takes a base backup with pg_basebackup and writes two batches of orders. Then it
recovers a copy of the base backup to the moment between the batches. SQLite has no WAL
archive, so this test runs on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select

from tests.conftest import _unavailable
from tests.factories import make_menu, make_store
from tests.orders.builders import make_customer
from zapora.db import create_engine, create_session_factory, session_scope
from zapora.migrate import upgrade_to_head
from zapora.orders.models import ActorType, Fulfilment, Order, OrderSource, PaymentMethod
from zapora.orders.placement import OrderDraft, place_order
from zapora.orders.pricing import LineRequest
from zapora.stores.models import Store

POSTGRES_BIN = Path(os.environ.get("ZAPORA_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
# initdb refuses to run as root, so as root the cluster runs as this OS user.
CLUSTER_OS_USER = "postgres"
DATABASE = "zapora"
WAIT_SECONDS = 30.0


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_cluster_owner(*argv: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", CLUSTER_OS_USER, "--", *argv]
    return list(argv)


def _run(*argv: str) -> None:
    result = subprocess.run(  # noqa: S603
        _as_cluster_owner(*argv), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{argv[0]} failed:\n{result.stdout}\n{result.stderr}"


def _give_to_cluster_owner(path: Path) -> None:
    if os.geteuid() != 0:
        return
    owner = pwd.getpwnam(CLUSTER_OS_USER)
    for entry in [path, *path.rglob("*")]:
        os.chown(entry, owner.pw_uid, owner.pw_gid)


class Cluster:
    """A PostgreSQL data directory served on 127.0.0.1 only, with its socket in ``socket_dir``."""

    def __init__(self, data: Path, socket_dir: Path) -> None:
        self.data = data
        self.socket_dir = socket_dir
        self.port = _free_port()
        self.log = data.parent / f"{data.name}.log"

    def configure(self, **settings: str) -> None:
        """Append settings to postgresql.conf; later lines override earlier ones."""
        values = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            **settings,
        }
        with (self.data / "postgresql.conf").open("a") as config:
            for name, value in values.items():
                quoted = value.replace("'", "''")
                config.write(f"{name} = '{quoted}'\n")

    def start(self) -> None:
        pg_ctl = str(POSTGRES_BIN / "pg_ctl")
        timeout = str(int(WAIT_SECONDS))
        _run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", timeout, "start")

    def stop(self) -> None:
        """Stop the server if it runs, also after a start that timed out."""
        if (self.data / "postmaster.pid").exists():
            _run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def server_log(self) -> str:
        return self.log.read_text() if self.log.exists() else "(no server log)"


@pytest.fixture
def workspace() -> Iterator[Path]:
    """A folder the cluster's OS user owns, outside pytest's root-only temporary folders."""
    if not (POSTGRES_BIN / "initdb").exists():
        _unavailable(f"initdb not found in {POSTGRES_BIN}; set ZAPORA_TEST_POSTGRES_BIN")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(CLUSTER_OS_USER)
        except KeyError:
            _unavailable(f"running as root needs an OS user named {CLUSTER_OS_USER}")
    path = Path(tempfile.mkdtemp(prefix="zapora-pitr-"))
    for name in ("archive", "socket"):
        (path / name).mkdir()
    _give_to_cluster_owner(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _seed_store(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """Create a store with a menu; return the store's id and its soda's id."""
    engine = create_engine(url)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            store = await make_store(session, minimum_order=0)
            menu = await make_menu(session, store)
            return store.id, menu.soda.id
    finally:
        await engine.dispose()


async def _place_batch(
    url: str, store_id: uuid.UUID, item_id: uuid.UUID, count: int
) -> set[uuid.UUID]:
    """Place ``count`` WhatsApp pickup orders, each in a transaction of its own."""
    engine = create_engine(url)
    order_ids: set[uuid.UUID] = set()
    try:
        factory = create_session_factory(engine)
        for _ in range(count):
            async with session_scope(factory) as session:
                store = await session.get_one(Store, store_id)
                wa_id = f"55{uuid.uuid4().int % 10**11:011d}"
                customer = await make_customer(session, store, wa_id=wa_id)
                draft = OrderDraft(
                    lines=[LineRequest(item_id=item_id, quantity=1, option_ids=())],
                    fulfilment=Fulfilment.PICKUP,
                    payment_method=PaymentMethod.PIX,
                    source=OrderSource.WHATSAPP,
                    customer_id=customer.id,
                )
                order = await place_order(
                    session, store, draft, actor_type=ActorType.CUSTOMER, actor_id=None
                )
                order_ids.add(order.id)
    finally:
        await engine.dispose()
    return order_ids


async def _server_time(dsn: str) -> datetime:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        return await connection.fetchval("SELECT clock_timestamp()")
    finally:
        await connection.close()


async def _switch_wal(dsn: str) -> str:
    """Close the current WAL segment so that it is archived; return its file name."""
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        return await connection.fetchval("SELECT pg_walfile_name(pg_switch_wal())")
    finally:
        await connection.close()


async def _create_database(cluster: Cluster) -> None:
    connection = await asyncpg.connect(cluster.dsn("postgres"), timeout=10)
    try:
        await connection.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await connection.close()


async def _wait_for_promotion(dsn: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            if not await connection.fetchval("SELECT pg_is_in_recovery()"):
                return
        finally:
            await connection.close()
        assert time.monotonic() < deadline, "the recovered cluster was not promoted in time"
        await asyncio.sleep(0.2)


async def _order_ids(url: str) -> set[uuid.UUID]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set((await connection.execute(select(Order.id))).scalars())
    finally:
        await engine.dispose()


def _wait_for_archived(archive: Path, wal_file: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not (archive / wal_file).exists():
        assert time.monotonic() < deadline, f"WAL file {wal_file} was not archived in time"
        time.sleep(0.1)


def _build_primary(workspace: Path) -> Cluster:
    """Create and start a cluster that archives every finished WAL segment."""
    primary = Cluster(workspace / "primary", workspace / "socket")
    initdb = str(POSTGRES_BIN / "initdb")
    _run(initdb, "-D", str(primary.data), "-U", "postgres", "--auth=trust", "--no-sync")
    archive = workspace / "archive"
    primary.configure(
        wal_level="replica",
        archive_mode="on",
        # The command fails rather than overwrite a segment that is already archived.
        archive_command=f"test ! -f {archive}/%f && cp %p {archive}/%f",
        # A throwaway cluster needs no crash safety, and skipping fsync saves seconds.
        fsync="off",
    )
    primary.start()
    return primary


def _take_base_backup(primary: Cluster, destination: Path) -> None:
    """Copy the running cluster with the WAL it needs to reach a consistent state."""
    _run(
        str(POSTGRES_BIN / "pg_basebackup"),
        f"--dbname={primary.dsn('postgres')}",
        f"--pgdata={destination}",
        "--wal-method=stream",
        "--checkpoint=fast",
        "--no-sync",
    )


def _recover_to(
    recovered: Cluster, archive: Path, base_backup: Path, target_time: datetime
) -> None:
    """Copy the base backup to a new data directory and replay archived WAL to a time."""
    _run("cp", "-a", str(base_backup), str(recovered.data))
    recovered.configure(
        restore_command=f'cp {archive}/%f "%p"',
        recovery_target_time=target_time.isoformat(sep=" "),
        recovery_target_action="promote",
        archive_mode="off",
    )
    (recovered.data / "recovery.signal").touch()
    _give_to_cluster_owner(recovered.data)
    recovered.start()


def test_recovery_to_time_between_batches(workspace):
    primary = _build_primary(workspace)
    recovered = Cluster(workspace / "recovered", workspace / "socket")
    try:
        asyncio.run(_create_database(primary))
        upgrade_to_head(primary.url())
        store_id, item_id = asyncio.run(_seed_store(primary.url()))
        base_backup = workspace / "base"
        _take_base_backup(primary, base_backup)

        earlier = asyncio.run(_place_batch(primary.url(), store_id, item_id, 3))
        target_time = asyncio.run(_server_time(primary.dsn()))
        time.sleep(0.2)
        later = asyncio.run(_place_batch(primary.url(), store_id, item_id, 2))
        last_segment = asyncio.run(_switch_wal(primary.dsn()))
        _wait_for_archived(workspace / "archive", last_segment)
        primary.stop()

        _recover_to(recovered, workspace / "archive", base_backup, target_time)
        asyncio.run(_wait_for_promotion(recovered.dsn()))
        found = asyncio.run(_order_ids(recovered.url()))
        recovery_log = recovered.server_log()
    except AssertionError as exc:
        logs = primary.server_log() + recovered.server_log()
        raise AssertionError(f"{exc}\nserver logs:\n{logs[-4000:]}") from exc
    finally:
        primary.stop()
        recovered.stop()

    assert len(earlier) == 3
    assert len(later) == 2
    assert found == earlier
    assert not found & later
    assert "recovery stopping before commit" in recovery_log
