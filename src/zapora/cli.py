"""The ``zapora`` command: serve, worker, migrate, backup, restore, seed-demo, create-user, chat."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import structlog
import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy import select

from zapora.config import get_settings
from zapora.db import create_engine, create_session_factory, session_scope
from zapora.demo import DEMO_GRAPH_PORT, DEMO_PHONE_NUMBER_ID
from zapora.errors import ZaporaError
from zapora.migrate import upgrade_to_head
from zapora.observability.logging import configure_logging
from zapora.observability.metrics import MULTIPROCESS_DIR_VARIABLE

app = typer.Typer(help="Zapora: sell for delivery through WhatsApp.", no_args_is_help=True)


@app.callback()
def check_settings() -> None:
    """Stop with a short message when a ZAPORA_ setting is invalid."""
    try:
        get_settings()
    except ValidationError as exc:
        # include_input=False: the rejected values may be secrets.
        for error in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(part) for part in error["loc"]) or "settings"
            typer.echo(f"invalid setting {field}: {error['msg']}", err=True)
        raise typer.Exit(code=2) from None


def _configure() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.logs_as_json)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="TCP port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Number of API processes.")] = 1,
) -> None:
    """Serve the HTTP API and the WhatsApp webhook."""
    _configure()
    settings = get_settings()
    if workers > 1 and not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        structlog.get_logger(__name__).warning(
            "metrics.per_process",
            workers=workers,
            fix=f"set {MULTIPROCESS_DIR_VARIABLE} to an empty folder so /metrics sums all workers",
        )
    uvicorn.run(
        "zapora.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        # Requests are logged as "http.request" by the application, with the route template.
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )


@app.command()
def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(help="TCP port that serves this process's Prometheus metrics; default: none."),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Interface the metrics endpoint listens on.")
    ] = "127.0.0.1",
) -> None:
    """Run the outbox sender and the inbox sweep until interrupted."""
    from zapora.worker import run_forever

    _configure()
    asyncio.run(run_forever(get_settings(), metrics_host=metrics_host, metrics_port=metrics_port))


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    _configure()
    settings = get_settings()
    upgrade_to_head(settings.resolved_database_url)
    typer.echo("database schema is at the latest revision")


@app.command()
def backup(
    output: Annotated[
        Path, typer.Option(help="File to write; an existing file is replaced when the backup ends.")
    ],
) -> None:
    """Write a backup of the configured database: a pg_dump archive or a SQLite copy."""
    from zapora import backups

    _configure()
    try:
        kind = backups.create_backup(get_settings().resolved_database_url, output)
    except backups.BackupError as exc:
        typer.echo(f"error: {exc.detail} ({exc.fix})", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"wrote {kind.value} backup {output} ({output.stat().st_size} bytes)")


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(help="Backup file written by 'zapora backup'.")],
    target_url: Annotated[
        str | None,
        typer.Option(help="Database URL to restore into; default: the configured database."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Restore without asking first.")] = False,
) -> None:
    """Replace a database's contents with a backup; stop serve and worker first."""
    from zapora import backups

    _configure()
    target = target_url or get_settings().resolved_database_url
    try:
        backups.check_restore(path, target)
        description = backups.describe_database(target)
        if not yes and not typer.confirm(f"Replace every Zapora table in the {description}?"):
            typer.echo("restore cancelled; nothing was changed", err=True)
            raise typer.Exit(code=1)
        backups.restore_backup(path, target)
    except backups.BackupError as exc:
        typer.echo(f"error: {exc.detail} ({exc.fix})", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"restored {path} into the {description}")


@app.command("seed-demo")
def seed_demo(
    url: Annotated[
        str, typer.Option(help="Base URL the server will listen on, used in the printed hints.")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Create the demo store, its menu and its manager; running it again changes nothing."""
    from zapora import demo

    _configure()
    try:
        result = asyncio.run(demo.seed_demo_store(get_settings()))
    except ZaporaError as exc:
        typer.echo(f"error: {exc.detail} ({exc.fix})", err=True)
        raise typer.Exit(code=1) from None
    store_state = "created" if result.store_created else "already existed"
    manager_state = "created" if result.manager_created else "already existed"
    login_body = (
        f'{{"email": "{demo.DEMO_MANAGER_EMAIL}", "password": "{demo.DEMO_MANAGER_PASSWORD}"}}'
    )
    graph_port = _graph_port(get_settings().whatsapp_api_base_url)
    chat_option = "" if graph_port == DEMO_GRAPH_PORT else f" --graph-port {graph_port}"
    typer.echo(
        "\n".join(
            [
                f"demo store '{demo.DEMO_STORE_SLUG}' {store_state}: id {result.store_id}, "
                f"WhatsApp phone number id {result.phone_number_id}",
                f"demo manager {manager_state}: {result.manager_email} "
                f"(seeded password {demo.DEMO_MANAGER_PASSWORD})",
                f"demo courier: {demo.DEMO_COURIER_EMAIL} "
                f"(seeded password {demo.DEMO_COURIER_PASSWORD})",
                "log in:",
                f"  curl -s -X POST {url}/api/v1/auth/login "
                f"-H 'Content-Type: application/json' -d '{login_body}'",
                f"API docs: {url}/docs",
                "chat as a customer, in a second terminal:",
                f"  .venv/bin/zapora chat --url {url}{chat_option}"
                f"   (or: {_make_chat_command(url, graph_port)})",
            ]
        )
    )


def _graph_port(api_base_url: str) -> int:
    """Return the port of a Graph API stand-in on this machine, else the simulator's default."""
    parts = urlsplit(api_base_url)
    if parts.hostname in ("127.0.0.1", "localhost") and parts.port is not None:
        return parts.port
    return DEMO_GRAPH_PORT


def _make_chat_command(url: str, graph_port: int) -> str:
    parts = urlsplit(url)
    words = ["make chat"]
    if (parts.hostname, parts.port) != ("127.0.0.1", 8000):
        words.append(f"HOST={parts.hostname} PORT={parts.port}")
    if graph_port != DEMO_GRAPH_PORT:
        words.append(f"GRAPH_PORT={graph_port}")
    return " ".join(words)


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[str, typer.Option(help="Password, at least 8 characters.")],
    role: Annotated[
        str, typer.Option(help="platform_admin, store_manager, store_staff or courier.")
    ],
    store: Annotated[
        str | None, typer.Option(help="Slug of the user's store; omit for platform_admin.")
    ] = None,
    full_name: Annotated[
        str | None, typer.Option(help="Name shown to staff; customers see a courier's first.")
    ] = None,
) -> None:
    """Create a staff user."""
    from zapora.auth.models import Role
    from zapora.auth.service import create_user as create_user_service
    from zapora.stores.models import Store

    try:
        parsed_role = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise typer.BadParameter(f"unknown role '{role}'; use one of: {choices}") from None

    async def _create() -> str:
        settings = get_settings()
        engine = create_engine(settings.resolved_database_url)
        try:
            factory = create_session_factory(engine)
            async with session_scope(factory) as session:
                store_id = None
                if store is not None:
                    store_id = await session.scalar(select(Store.id).where(Store.slug == store))
                    if store_id is None:
                        raise typer.BadParameter(f"store '{store}' not found; check the slug")
                user = await create_user_service(
                    session,
                    email=email,
                    password=password,
                    role=parsed_role,
                    store_id=store_id,
                    full_name=full_name,
                )
                user_id = str(user.id)
            return user_id
        finally:
            await engine.dispose()

    try:
        user_id = asyncio.run(_create())
    except ZaporaError as exc:
        typer.echo(f"error: {exc.detail} ({exc.fix})", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"created user {user_id} ({email}, {role})")


@app.command()
def chat(
    url: Annotated[str, typer.Option(help="Base URL of a running Zapora server.")] = (
        "http://127.0.0.1:8000"
    ),
    store: Annotated[str, typer.Option(help="Slug of the store to write to.")] = "demo",
    phone: Annotated[
        str, typer.Option(help="The customer's WhatsApp id (digits, as WhatsApp sends it).")
    ] = "5511955551234",
    name: Annotated[str, typer.Option(help="The customer's WhatsApp profile name.")] = "Maria",
    app_secret: Annotated[
        str | None,
        typer.Option(
            help="Secret that signs webhook posts; default: ZAPORA_WHATSAPP_APP_SECRET, "
            "else the demo secret.",
            show_default=False,
        ),
    ] = None,
    phone_number_id: Annotated[
        str, typer.Option(help="The store's WhatsApp phone number id, sent as metadata.")
    ] = DEMO_PHONE_NUMBER_ID,
    graph_port: Annotated[
        int,
        typer.Option(
            help="Port of the local Graph API simulator; the server's "
            "ZAPORA_WHATSAPP_API_BASE_URL must point at it."
        ),
    ] = DEMO_GRAPH_PORT,
    statuses: Annotated[
        bool, typer.Option(help="Report sent, delivered and read statuses for bot messages.")
    ] = True,
) -> None:
    """Chat with a store's bot from the terminal as a WhatsApp customer would."""
    if not (phone.isascii() and phone.isdigit()):
        raise typer.BadParameter(
            f"invalid WhatsApp id {phone!r}: use digits only, country code first, no '+'",
            param_hint="--phone",
        )
    from zapora.chat import run_chat
    from zapora.demo import DEMO_APP_SECRET

    if app_secret is None:
        configured = get_settings().whatsapp_app_secret
        app_secret = configured.get_secret_value() if configured else DEMO_APP_SECRET
    exit_code = run_chat(
        url=url,
        store_slug=store,
        wa_id=phone,
        profile_name=name,
        app_secret=app_secret,
        phone_number_id=phone_number_id,
        graph_port=graph_port,
        report_statuses=statuses,
    )
    if exit_code:
        raise typer.Exit(code=exit_code)
