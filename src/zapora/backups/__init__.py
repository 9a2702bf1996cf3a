"""Back up the database to one file and restore it, on PostgreSQL and on SQLite.

PostgreSQL backups are pg_dump custom-format archives and are restored with pg_restore.
SQLite backups are copies made with SQLite's online backup API.
"""

from __future__ import annotations

import time
from pathlib import Path

import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from zapora.backups import postgres, sqlite
from zapora.backups.errors import BackupError
from zapora.backups.files import BackupKind, read_backup_kind

__all__ = [
    "BackupError",
    "BackupKind",
    "check_restore",
    "create_backup",
    "describe_database",
    "restore_backup",
]

logger = structlog.get_logger(__name__)


def database_kind(database_url: str) -> BackupKind:
    """Return which kind of backup the database at ``database_url`` makes."""
    try:
        backend = make_url(database_url).get_backend_name()
    except ArgumentError:
        raise BackupError(
            "the database URL cannot be parsed",
            fix="use postgresql+asyncpg://user:password@host:5432/database "
            "or sqlite+aiosqlite:///PATH",
        ) from None
    if backend == "postgresql":
        return BackupKind.POSTGRESQL
    if backend == "sqlite":
        return BackupKind.SQLITE
    raise BackupError(
        f"databases of type '{backend}' cannot be backed up",
        fix="use a PostgreSQL or SQLite database URL",
    )


def describe_database(database_url: str) -> str:
    """Name the database for messages, without its password."""
    if database_kind(database_url) is BackupKind.POSTGRESQL:
        return postgres.libpq_connection(database_url).description
    return f"SQLite database {sqlite.database_path(database_url)}"


def create_backup(database_url: str, output: Path) -> BackupKind:
    """Write a backup of the database to ``output``.

    A failed backup leaves no partial file, and an earlier file at ``output`` unchanged.
    """
    kind = database_kind(database_url)
    started = time.monotonic()
    if kind is BackupKind.POSTGRESQL:
        postgres.dump(database_url, output)
    else:
        sqlite.dump(database_url, output)
    logger.info(
        "backup.written",
        kind=kind.value,
        path=str(output),
        size_bytes=output.stat().st_size,
        duration_seconds=round(time.monotonic() - started, 3),
    )
    return kind


def check_restore(backup: Path, target_url: str) -> BackupKind:
    """Raise BackupError unless ``backup`` is a Zapora backup that fits the target.

    It also checks the target. A PostgreSQL target must accept a connection, and a SQLite
    target's folder must exist. Nothing is changed.
    """
    kind = read_backup_kind(backup)
    target_kind = database_kind(target_url)
    if kind is not target_kind:
        raise BackupError(
            f"{backup} is a {kind.value} backup but the target is a {target_kind.value} database",
            fix=f"give a {kind.value} URL with --target-url",
        )
    if kind is BackupKind.POSTGRESQL:
        postgres.check_archive(backup)
        postgres.check_reachable(target_url)
    else:
        sqlite.check_backup(backup)
        sqlite.check_target(target_url)
    return kind


def restore_backup(backup: Path, target_url: str) -> BackupKind:
    """Replace the target database's contents with the backup's."""
    kind = check_restore(backup, target_url)
    started = time.monotonic()
    logger.info("restore.started", kind=kind.value, path=str(backup))
    if kind is BackupKind.POSTGRESQL:
        postgres.restore(backup, target_url)
    else:
        sqlite.restore(backup, target_url)
    logger.info(
        "restore.finished",
        kind=kind.value,
        path=str(backup),
        duration_seconds=round(time.monotonic() - started, 3),
    )
    return kind
