"""The ``zapora`` command, run as a separate process against each backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.factories import make_store

ZAPORA = str(Path(sys.executable).parent / "zapora")


def _run(
    database_url: str, *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ZAPORA_DATABASE_URL": database_url,
        "ZAPORA_LOG_LEVEL": "WARNING",
        **(env_extra or {}),
    }
    return subprocess.run(  # noqa: S603
        [ZAPORA, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_create_user_can_log_in(client, session, database_url):
    store = await make_store(session, slug="cli-store")
    await session.commit()

    result = _run(
        database_url,
        "create-user",
        "--email",
        "Staff@Example.com",
        "--password",
        "a-long-password",
        "--role",
        "store_staff",
        "--store",
        "cli-store",
    )
    assert result.returncode == 0, result.stderr

    response = await client.post(
        "/api/v1/auth/login", json={"email": "staff@example.com", "password": "a-long-password"}
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "store_staff"
    assert me.json()["store_id"] == str(store.id)


async def test_create_user_unknown_store(client, database_url):
    result = _run(
        database_url,
        "create-user",
        "--email",
        "x@example.com",
        "--password",
        "a-long-password",
        "--role",
        "store_staff",
        "--store",
        "no-such-store",
    )
    assert result.returncode != 0
    assert "no-such-store" in result.stderr


async def test_create_user_unknown_role(client, database_url):
    result = _run(
        database_url,
        "create-user",
        "--email",
        "x@example.com",
        "--password",
        "a-long-password",
        "--role",
        "chef",
    )
    assert result.returncode != 0
    assert "platform_admin" in result.stderr


async def test_create_user_short_password(client, database_url):
    result = _run(
        database_url,
        "create-user",
        "--email",
        "x@example.com",
        "--password",
        "short",
        "--role",
        "platform_admin",
    )
    assert result.returncode == 1
    assert "8 characters" in result.stderr


def test_invalid_settings_message_hides_secrets():
    env = {
        **os.environ,
        "ZAPORA_ENVIRONMENT": "production",
        "ZAPORA_SECRET_KEY": "short",
        "ZAPORA_WHATSAPP_APP_SECRET": "app-secret-that-must-not-leak",
    }
    result = subprocess.run(  # noqa: S603
        [ZAPORA, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2
    assert "ZAPORA_SECRET_KEY" in result.stderr
    assert "must-not-leak" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


async def test_seed_demo_prints_the_chat_command_for_its_ports(app, database_url):
    moved = _run(
        database_url,
        "seed-demo",
        "--url",
        "http://127.0.0.1:8300",
        env_extra={"ZAPORA_WHATSAPP_API_BASE_URL": "http://127.0.0.1:8301"},
    )
    default = _run(database_url, "seed-demo")

    assert moved.returncode == 0, moved.stderr
    assert "zapora chat --url http://127.0.0.1:8300 --graph-port 8301" in moved.stdout
    assert "make chat HOST=127.0.0.1 PORT=8300 GRAPH_PORT=8301" in moved.stdout
    assert "entregador@demo.example.com" in moved.stdout
    assert default.returncode == 0, default.stderr
    assert "zapora chat --url http://127.0.0.1:8000   (or: make chat)" in default.stdout
