"""Backup file handling shared by both databases: format detection and atomic replacement."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import StrEnum
from pathlib import Path

from zapora.backups.errors import BackupError

# The first bytes of a pg_dump custom-format archive and of a SQLite database file.
PG_DUMP_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupKind(StrEnum):
    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"


def read_backup_kind(path: Path) -> BackupKind:
    """Return which database wrote the backup file, from its first bytes."""
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(
            f"backup file {path} not found", fix="check the path of the backup file"
        ) from None
    except IsADirectoryError:
        raise BackupError(
            f"{path} is a folder, not a backup file", fix="give the path of one backup file"
        ) from None
    except PermissionError:
        raise BackupError(
            f"backup file {path} cannot be read", fix="run as a user that may read it"
        ) from None
    if header.startswith(PG_DUMP_MAGIC):
        return BackupKind.POSTGRESQL
    if header == SQLITE_MAGIC:
        return BackupKind.SQLITE
    raise BackupError(
        f"{path} is not a Zapora backup: it is neither a pg_dump custom-format archive "
        "nor a SQLite database",
        fix="give a file written by 'zapora backup'",
    )


@contextmanager
def replace_atomically(destination: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``destination`` and move it into place on success.

    The file is synced to disk before the rename and the folder after it, so a crash
    leaves either the old file or the complete new one. When the block raises, the
    temporary file is deleted and ``destination`` is left as it was.
    """
    folder = destination.parent
    if not folder.is_dir():
        raise BackupError(f"folder {folder} does not exist", fix="create it or choose another path")
    if destination.is_dir():
        raise BackupError(f"{destination} is a folder", fix="give a file path inside it")
    partial = folder / f".{destination.name}.partial-{os.getpid()}"
    try:
        yield partial
        _sync_file(partial)
        os.replace(partial, destination)
    except BaseException:
        with suppress(FileNotFoundError):
            partial.unlink()
        raise
    _sync_file(folder)


def _sync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
