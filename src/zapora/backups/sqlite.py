"""SQLite backups in the embedded mode: online copies made with SQLite's backup API."""

from __future__ import annotations

import sqlite3
from contextlib import closing, suppress
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from zapora.backups.errors import BackupError
from zapora.backups.files import replace_atomically

BUSY_TIMEOUT_SECONDS = 30.0
# A running service keeps its connections open, so a short wait is enough to tell that the
# file is in use.
TAKE_OVER_TIMEOUT_SECONDS = 2.0
STOP_SERVICE_FIX = (
    "stop every 'zapora serve' and 'zapora worker' process that uses it, then run the restore again"
)


def database_path(database_url: str) -> Path:
    """Return the file of a ``sqlite+aiosqlite:///PATH`` URL."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise BackupError(
            "the database URL cannot be parsed", fix="use the form sqlite+aiosqlite:///PATH"
        ) from None
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            f"'{url.get_backend_name()}' is not a SQLite URL",
            fix="use the form sqlite+aiosqlite:///PATH",
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError(
            "an in-memory or URI-form SQLite database cannot be backed up or restored",
            fix="use a file URL of the form sqlite+aiosqlite:///PATH",
        )
    return Path(url.database)


def _connect(path: Path, *, mode: str, timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """Open ``path`` in the URI ``mode`` (ro, rw or rwc) without an implicit transaction."""
    try:
        return sqlite3.connect(
            f"{path.resolve().as_uri()}?mode={mode}",
            uri=True,
            timeout=timeout,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise BackupError(
            f"cannot open SQLite database {path}: {exc}",
            fix="check that the file exists and this user may read and write its folder",
        ) from None


def dump(database_url: str, output: Path) -> None:
    """Copy the live database into ``output`` as one self-contained file."""
    source_path = database_path(database_url)
    if not source_path.is_file():
        raise BackupError(
            f"SQLite database {source_path} not found",
            fix="check ZAPORA_DATABASE_URL or ZAPORA_SQLITE_PATH, or create it with "
            "'zapora migrate'",
        )
    if output.resolve() == source_path.resolve():
        raise BackupError(
            "the backup would overwrite the database itself", fix="choose another output path"
        )
    with replace_atomically(output) as partial:
        # Opened read-write because reading a database in WAL mode may create its -shm file.
        _copy(source_path, partial, source_mode="rw")


def _copy(source_path: Path, destination: Path, *, source_mode: str) -> None:
    """Copy a consistent snapshot while writers keep working, then verify the copy.

    The copy leaves WAL mode, so it is a single file with no -wal or -shm beside it.
    """
    with (
        closing(_connect(source_path, mode=source_mode)) as source,
        closing(_connect(destination, mode="rwc")) as copy,
    ):
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            problems = copy.execute("PRAGMA quick_check").fetchall()
        except sqlite3.Error as exc:
            raise BackupError(
                f"copying SQLite database {source_path} failed: {exc}",
                fix="check the free disk space and that the database file is not damaged",
            ) from None
    if problems != [("ok",)]:
        raise BackupError(
            f"the copy of {source_path} failed its integrity check: {problems[0][0]}",
            fix="run 'PRAGMA integrity_check' on the database and repair it first",
        )


def check_backup(path: Path) -> None:
    """Raise BackupError unless ``path`` is an intact SQLite copy of a Zapora database."""
    _check_size(path)
    with closing(_connect(path, mode="ro")) as backup:
        try:
            problems = backup.execute("PRAGMA quick_check").fetchall()
            tables = backup.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise BackupError(
                f"{path} is not a readable SQLite database: {exc}",
                fix="give a complete file written by 'zapora backup'",
            ) from None
    if problems != [("ok",)]:
        raise BackupError(
            f"{path} failed SQLite's integrity check: {problems[0][0]}",
            fix="give an intact file written by 'zapora backup'",
        )
    if not tables:
        raise BackupError(
            f"{path} is a SQLite database but not a Zapora one: it has no alembic_version table",
            fix="give a file written by 'zapora backup'",
        )


def _check_size(path: Path) -> None:
    """Raise BackupError when the file is shorter or longer than its header states.

    quick_check reads missing trailing bytes as zeros, so it passes some truncated copies.
    In SQLite's file format, the page count at header offset 28 is valid when the
    "version-valid-for" number at offset 92 equals the change counter at offset 24.
    """
    with path.open("rb") as file:
        header = file.read(100)
    if len(header) < 100:
        raise BackupError(
            f"{path} is truncated: its header is incomplete",
            fix="give a complete file written by 'zapora backup'",
        )
    page_size = int.from_bytes(header[16:18], "big")
    if page_size == 1:
        page_size = 65536
    page_count = int.from_bytes(header[28:32], "big")
    if header[92:96] != header[24:28]:
        return
    expected = page_size * page_count
    actual = path.stat().st_size
    if actual != expected:
        raise BackupError(
            f"{path} is truncated or damaged: it has {actual} bytes but its header "
            f"states {expected}",
            fix="give a complete file written by 'zapora backup'",
        )


def check_target(target_url: str) -> None:
    """Raise BackupError unless the target's folder exists."""
    folder = database_path(target_url).parent
    if not folder.is_dir():
        raise BackupError(
            f"folder {folder} of the target database does not exist",
            fix="create the folder or give another --target-url",
        )


def restore(path: Path, target_url: str) -> None:
    """Replace the target file with a copy of the backup while no service uses it.

    The copy is written beside the target and renamed over it, so the target is either
    the old database or the whole backup, never a mix.
    """
    target = database_path(target_url)
    if target.exists() and target.resolve() == path.resolve():
        raise BackupError(
            "the backup file is the target database itself",
            fix="give another --target-url, or restore from another file",
        )
    check_target(target_url)
    with replace_atomically(target) as partial:
        _copy(path, partial, source_mode="ro")
        if target.exists():
            _take_over(target)


def _take_over(target: Path) -> None:
    """Check that no other process has ``target`` open and fold its WAL into the file.

    Leaving WAL mode needs the only connection to the database. A -wal file left behind
    would be replayed into the restored file on the next open and corrupt it, so the
    switch also makes SQLite checkpoint and delete it.
    """
    with closing(_connect(target, mode="rw", timeout=TAKE_OVER_TIMEOUT_SECONDS)) as current:
        try:
            current.execute("PRAGMA journal_mode=DELETE").fetchall()
        except sqlite3.OperationalError as exc:
            raise BackupError(
                f"SQLite database {target} is in use by another process: {exc}",
                fix=STOP_SERVICE_FIX,
            ) from None
    for suffix in ("-wal", "-shm"):
        with suppress(FileNotFoundError):
            target.with_name(target.name + suffix).unlink()
