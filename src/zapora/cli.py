"""The ``zapora`` command: serve, worker, migrate, seed-demo, create-user, chat."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn
from sqlalchemy import select

from zapora.config import get_settings
from zapora.db import create_engine, create_session_factory, session_scope
from zapora.errors import ZaporaError
from zapora.migrate import upgrade_to_head
from zapora.observability.logging import configure_logging

app = typer.Typer(help="Zapora: sell for delivery through WhatsApp.", no_args_is_help=True)


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
    uvicorn.run(
        "zapora.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=False,
    )


@app.command()
def worker() -> None:
    """Run the outbox sender and the inbox sweep until interrupted."""
    from zapora.worker import run_forever

    _configure()
    asyncio.run(run_forever(get_settings()))


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    _configure()
    settings = get_settings()
    upgrade_to_head(settings.resolved_database_url)
    typer.echo("database schema is at the latest revision")


@app.command("seed-demo")
def seed_demo() -> None:
    """Create the demo store, its menu and its manager; running it again changes nothing."""
    from zapora.demo import seed_demo_store

    _configure()
    asyncio.run(seed_demo_store(get_settings()))


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
            async for session in session_scope(factory):
                store_id = None
                if store is not None:
                    store_id = await session.scalar(select(Store.id).where(Store.slug == store))
                    if store_id is None:
                        raise typer.BadParameter(f"store '{store}' not found; check the slug")
                user = await create_user_service(
                    session, email=email, password=password, role=parsed_role, store_id=store_id
                )
                return str(user.id)
            raise AssertionError("session_scope yields once")
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
) -> None:
    """Chat with a store's bot from the terminal as a WhatsApp customer would."""
    from zapora.chat import run_chat

    run_chat(url=url, store_slug=store, wa_id=phone, profile_name=name, settings=get_settings())
