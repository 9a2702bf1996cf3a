"""PostgreSQL backups: pg_dump custom-format archives, restored with pg_restore."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from zapora.backups.errors import BackupError
from zapora.backups.files import replace_atomically

# asyncpg URL query parameters and the libpq keywords with the same meaning. Other query
# parameters (driver and pool options such as prepared_statement_cache_size) do not affect
# where or how libpq connects, so they are left out.
QUERY_TO_LIBPQ = {
    "host": "host",
    "port": "port",
    "sslmode": "sslmode",
    "ssl": "sslmode",
    "sslrootcert": "sslrootcert",
    "sslcert": "sslcert",
    "sslkey": "sslkey",
    "sslcrl": "sslcrl",
    "target_session_attrs": "target_session_attrs",
}
# asyncpg also accepts booleans for ``ssl``.
SSL_BOOLEANS = {"true": "require", "false": "disable"}
CONNECT_TIMEOUT_SECONDS = 10
INSTALL_HINT = (
    "install the PostgreSQL client tools of at least the server's major version and put "
    "them on PATH; on Debian and Ubuntu the package is postgresql-client"
)


@dataclass(frozen=True)
class LibpqConnection:
    """Connection settings for pg_dump and pg_restore.

    ``conninfo`` contains every connection parameter but the password, so it may appear on
    the command line. ``environment`` contains the password (PGPASSWORD) and the password
    file (PGPASSFILE) for the child's environment only.
    """

    conninfo: str
    environment: dict[str, str]
    description: str


def libpq_connection(database_url: str) -> LibpqConnection:
    """Convert a SQLAlchemy URL such as ``postgresql+asyncpg://u:p@host:5432/db`` for libpq."""
    url = _parse_postgres_url(database_url)
    keywords: dict[str, str] = {}
    for name, keyword in QUERY_TO_LIBPQ.items():
        value = _query_value(url, name)
        if value is not None:
            keywords[keyword] = value
    if "sslmode" in keywords:
        keywords["sslmode"] = SSL_BOOLEANS.get(keywords["sslmode"].lower(), keywords["sslmode"])
    if url.host:
        keywords["host"] = url.host
    if url.port:
        keywords["port"] = str(url.port)
    user = url.username or _query_value(url, "user")
    if user:
        keywords["user"] = user
    keywords["dbname"] = url.database or ""
    keywords["connect_timeout"] = str(CONNECT_TIMEOUT_SECONDS)

    environment: dict[str, str] = {}
    password = url.password or _query_value(url, "password")
    if password:
        environment["PGPASSWORD"] = str(password)
    passfile = _query_value(url, "passfile")
    if passfile:
        environment["PGPASSFILE"] = passfile

    conninfo = " ".join(f"{keyword}={_quote(value)}" for keyword, value in keywords.items())
    location = keywords.get("host", "the default socket")
    if "port" in keywords:
        location = f"{location}:{keywords['port']}"
    description = f"PostgreSQL database '{keywords['dbname']}' at {location}"
    return LibpqConnection(conninfo=conninfo, environment=environment, description=description)


def _parse_postgres_url(database_url: str) -> URL:
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise BackupError(
            "the database URL cannot be parsed",
            fix="use the form postgresql+asyncpg://user:password@host:5432/database",
        ) from None
    if url.get_backend_name() != "postgresql":
        raise BackupError(
            f"'{url.get_backend_name()}' is not a PostgreSQL URL",
            fix="use the form postgresql+asyncpg://user:password@host:5432/database",
        )
    if not url.database:
        raise BackupError(
            "the PostgreSQL URL names no database",
            fix="end the URL with /DATABASE, for example postgresql+asyncpg://host:5432/zapora",
        )
    return url


def _query_value(url: URL, name: str) -> str | None:
    value = url.query.get(name)
    if isinstance(value, tuple):
        return value[-1] if value else None
    return value


def _quote(value: str) -> str:
    """Quote a conninfo value: single quotes, with backslash and quote escaped."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def dump(database_url: str, output: Path) -> None:
    """Write a custom-format archive of the database to ``output``, replacing it atomically."""
    connection = libpq_connection(database_url)
    program = _find_program("pg_dump")
    with replace_atomically(output) as partial:
        _run(
            [
                program,
                "--format=custom",
                "--no-password",
                f"--file={partial}",
                f"--dbname={connection.conninfo}",
            ],
            connection,
            action="pg_dump",
        )


def check_archive(path: Path) -> None:
    """Raise BackupError unless ``path`` is a readable archive of a Zapora database."""
    program = _find_program("pg_restore")
    result = subprocess.run(  # noqa: S603
        [program, "--list", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(
            f"{path} is not a readable pg_dump archive: {_first_error(result.stderr)}",
            fix="give a complete file written by 'zapora backup'",
        )
    if not re.search(r"\bTABLE \S+ alembic_version\b", result.stdout):
        raise BackupError(
            f"{path} is a pg_dump archive but not of a Zapora database: it has no "
            "alembic_version table",
            fix="give a file written by 'zapora backup'",
        )


def check_reachable(database_url: str) -> None:
    """Raise BackupError unless the database accepts a connection with this URL."""
    description = libpq_connection(database_url).description
    # The check connects with asyncpg, the driver the service uses, whatever driver the URL
    # names, so "postgresql://" works without psycopg installed. asyncpg calls libpq's
    # sslmode parameter "ssl".
    url = make_url(database_url)
    query = dict(url.query)
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    async_url = url.set(drivername="postgresql+asyncpg", query=query)
    try:
        asyncio.run(_select_one(async_url))
    except (OSError, SQLAlchemyError, TimeoutError, TypeError, ValueError) as exc:
        # A DBAPIError's own text starts with the driver's class name; the original is shorter.
        reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        raise BackupError(
            f"cannot connect to the {description}: {_first_line(str(reason))}",
            fix="check that PostgreSQL is running and that the URL's host, port, user, "
            "password and database are right; create the database first if it does not exist",
        ) from None


async def _select_one(database_url: URL) -> None:
    engine = create_async_engine(
        database_url, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS}, poolclass=NullPool
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def restore(path: Path, target_url: str) -> None:
    """Replace the target's Zapora tables with the archive's, in one transaction.

    ``--single-transaction`` makes pg_restore stop at the first error and roll back, so a
    failed restore leaves the target as it was. Ownership and grants are not restored,
    so the archive restores into a database owned by another role.
    """
    connection = libpq_connection(target_url)
    program = _find_program("pg_restore")
    _run(
        [
            program,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--no-password",
            f"--dbname={connection.conninfo}",
            str(path),
        ],
        connection,
        action="pg_restore",
        outcome="The restore was rolled back, so the target is unchanged.",
    )


def _find_program(name: str) -> str:
    program = shutil.which(name)
    if program is None:
        raise BackupError(f"{name} was not found on PATH", fix=INSTALL_HINT)
    return program


def _run(argv: list[str], connection: LibpqConnection, *, action: str, outcome: str = "") -> None:
    environment = {**os.environ, **connection.environment}
    result = subprocess.run(  # noqa: S603
        argv, env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode == 0:
        return
    error = _first_error(result.stderr)
    detail = f"{action} failed on the {connection.description}: {error}"
    if outcome:
        detail = f"{detail}. {outcome}"
    raise BackupError(detail, fix=_fix_for(error))


def _fix_for(error: str) -> str:
    if "could not read from input file" in error or "unexpected end of file" in error:
        return "the backup file is truncated or damaged; restore another backup"
    if "server version mismatch" in error:
        return INSTALL_HINT
    if re.search(r'database "[^"]*" does not exist', error):
        return "create the database first (createdb, or CREATE DATABASE in psql)"
    if "password authentication failed" in error or "no password supplied" in error:
        return "check the user and password in the database URL"
    if "connection to server" in error or "could not connect" in error:
        return "check that PostgreSQL is running and that the URL's host and port are right"
    if "could not open output file" in error:
        return "choose an output path in a folder this user may write to"
    return "read the pg_dump or pg_restore message above and fix its cause"


def _first_error(stderr: str) -> str:
    """Return the first ``error:`` line of a PostgreSQL tool's output, else its first line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "error:" in line:
            return line
    return lines[0] if lines else "no error message"


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "no error message"
