"""The shared services of a local cluster: its own PostgreSQL database and a reachable Redis."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis
from redis.exceptions import RedisError

from zapora.cluster.processes import ClusterError

CONNECT_TIMEOUT_SECONDS = 5.0
# An unquoted PostgreSQL identifier, so the name needs no escaping in CREATE DATABASE.
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_database_name(name: str) -> str:
    """Return ``name`` when it is a valid database name, or raise ``ClusterError``."""
    if not DATABASE_NAME.fullmatch(name):
        raise ClusterError(
            f"invalid database name '{name}': use lowercase letters, digits and underscores, "
            "at most 63 characters, not starting with a digit"
        )
    return name


def database_url(admin_url: str, name: str) -> str:
    """Return the SQLAlchemy asyncpg URL of database ``name`` on the admin URL's server."""
    parts = urlsplit(admin_url)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, f"/{name}", parts.query, ""))


async def _execute(admin_url: str, statement: str) -> None:
    connection = await asyncpg.connect(admin_url, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _exists(admin_url: str, name: str) -> bool:
    connection = await asyncpg.connect(admin_url, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await connection.close()
    return found is not None


def ensure_database(admin_url: str, name: str, *, fresh: bool) -> bool:
    """Create database ``name`` when missing, dropping it first when ``fresh``.

    Return whether the database was created. Raise ``ClusterError`` when PostgreSQL cannot
    be reached through ``admin_url``.
    """
    check_database_name(name)
    try:
        if fresh:
            asyncio.run(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if asyncio.run(_exists(admin_url, name)):
            return False
        asyncio.run(_execute(admin_url, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        raise ClusterError(
            f"PostgreSQL at {_without_password(admin_url)} failed: {exc}. Start it or pass "
            "--postgres with an admin URL"
        ) from exc
    return True


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, closing the connections still open to it."""
    check_database_name(name)
    asyncio.run(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def check_redis(url: str) -> None:
    """Raise ``ClusterError`` unless Redis at ``url`` replies to PING."""
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        client.ping()
    except RedisError as exc:
        raise ClusterError(
            f"Redis at {_without_password(url)} failed: {exc}. Start it or pass --redis"
        ) from exc
    finally:
        client.close()


def delete_redis_keys(url: str, prefix: str) -> int:
    """Delete every key that starts with ``prefix`` and return how many were deleted."""
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
