"""Background work: the outbox sender and the inbox sweep, in the API process or on their own."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from zapora.catalog.cache import create_menu_cache
from zapora.config import Settings
from zapora.db import create_engine, create_session_factory
from zapora.observability.metrics_server import MetricsServer, start_metrics_server
from zapora.observability.multiprocess import mark_this_process_ended, remove_ended_processes
from zapora.observability.order_gauges import OpenOrderGauges
from zapora.observability.pool_metrics import instrument_pool
from zapora.observability.tracing import setup_tracing
from zapora.outbox.sender import send_due
from zapora.outbox.transports import Transport, build_transport
from zapora.stores.terms_cache import create_terms_cache

logger = structlog.get_logger(__name__)


class _FailureLog:
    """Log a repeating failure on its 1st, 2nd, 4th, 8th... occurrence in a row, with the count.

    Only the first failure in a row carries the traceback, and the repeats name the error type.
    """

    def __init__(self, failed_event: str, recovered_event: str) -> None:
        self.failed_event = failed_event
        self.recovered_event = recovered_event
        self.count = 0

    def failed(self, error: Exception) -> None:
        self.count += 1
        if self.count == 1:
            logger.exception(self.failed_event, consecutive_failures=1)
        elif self.count & (self.count - 1) == 0:
            logger.error(
                self.failed_event,
                consecutive_failures=self.count,
                error=type(error).__name__,
            )

    def succeeded(self) -> None:
        if self.count:
            logger.info(self.recovered_event, failures=self.count)
        self.count = 0


class _InboxWakeup:
    """Set ``event`` whenever a webhook stores messages, through PostgreSQL LISTEN.

    It keeps one connection of the engine's pool. Without PostgreSQL, or while that
    connection is down, nothing sets the event and the worker's poll finds the messages.
    """

    def __init__(self, engine: AsyncEngine | None) -> None:
        self.event = asyncio.Event()
        self._engine = engine if engine and engine.dialect.name == "postgresql" else None
        self._connection: AsyncConnection | None = None

    async def ensure_listening(self) -> None:
        """Open the listening connection if it is not open; log a failure and go on."""
        if self._engine is None:
            return
        if self._connection is not None and not self._connection.closed:
            driver = (await self._connection.get_raw_connection()).driver_connection
            if driver is not None and not driver.is_closed():
                return
            await self.close()
        from zapora.whatsapp.inbox import INBOX_CHANNEL

        try:
            connection = await self._engine.connect()
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None
            await raw.driver_connection.add_listener(INBOX_CHANNEL, self._notified)
        except Exception:
            logger.warning("worker.inbox_listen_failed", exc_info=True)
            return
        self._connection = connection
        # Messages stored before the listener existed are found by the next sweep.
        self.event.set()

    def _notified(self, *_args: object) -> None:
        self.event.set()

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.invalidate()
                await self._connection.close()
            self._connection = None


class Worker:
    """Poll the outbox and the inbox every ``worker_poll_seconds`` until stopped.

    Once a batch sends something or the sweep handles a message the next round starts at
    once, so a backlog drains without waiting for the poll interval. On PostgreSQL a webhook
    that stores messages also wakes the worker. An exception from any job is logged and the
    loop goes on.
    """

    def __init__(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        transport: Transport | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self._owns_transport = transport is None
        self._transport = transport
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._send_failures = _FailureLog("worker.send_failed", "worker.send_recovered")
        self._sweep_failures = _FailureLog("worker.sweep_failed", "worker.sweep_recovered")
        self._offer_failures = _FailureLog("worker.offers_failed", "worker.offers_recovered")
        self._delay_failures = _FailureLog("worker.delays_failed", "worker.delays_recovered")
        self._inbox_wakeup = _InboxWakeup(session_factory.kw.get("bind"))
        self._swept = 0

    @property
    def consecutive_send_failures(self) -> int:
        """Count of outbox batches that raised in a row, reset to 0 by a batch that completes."""
        return self._send_failures.count

    def start(self) -> None:
        """Start the polling loop as a task on the running event loop."""
        if self._task is not None:
            raise RuntimeError("Worker.start() was already called. Create a new Worker instead.")
        if self._transport is None:
            self._transport = build_transport(self.settings)
        self._task = asyncio.create_task(self._run(), name="zapora-worker")
        logger.info(
            "worker.started",
            transport=self._transport.name,
            poll_seconds=self.settings.worker_poll_seconds,
        )

    async def stop(self) -> None:
        """Let the current batch finish, then end the loop and close the transport.

        A batch still running after ``outbox_lease_seconds`` is cancelled: by then its rows'
        leases have ended and another sender may claim them anyway.
        """
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(
                asyncio.shield(self._task), timeout=self.settings.outbox_lease_seconds
            )
        except TimeoutError:
            logger.warning(
                "worker.stop_timed_out", timeout_seconds=self.settings.outbox_lease_seconds
            )
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._owns_transport and self._transport is not None:
            await self._transport.aclose()
        self._task = None
        logger.info("worker.stopped")

    async def run_once(self) -> int:
        """Sweep the inbox once, then send one outbox batch and return the count of rows sent.

        The sweep goes first so that replies it queues leave in the same round.
        """
        assert self._transport is not None, "start() creates the transport"
        try:
            # Imported here so that the sender keeps running while inbox processing cannot load.
            from zapora.whatsapp.processing import sweep_inbox

            self._swept = await sweep_inbox(self.settings, self.session_factory)
        except Exception as exc:
            self._sweep_failures.failed(exc)
        else:
            self._sweep_failures.succeeded()
        try:
            # Offers that ran out go to the next courier, and waiting orders get a new offer.
            from zapora.delivery.offers import expire_offers

            await expire_offers(self.session_factory)
        except Exception as exc:
            self._offer_failures.failed(exc)
        else:
            self._offer_failures.succeeded()
        try:
            # Customers whose order runs past its estimate get one delay message.
            from zapora.orders.delays import notify_late_orders

            await notify_late_orders(self.settings, self.session_factory)
        except Exception as exc:
            self._delay_failures.failed(exc)
        else:
            self._delay_failures.succeeded()
        handled = 0
        try:
            handled = await send_due(self.settings, self.session_factory, transport=self._transport)
        except Exception as exc:
            self._send_failures.failed(exc)
        else:
            self._send_failures.succeeded()
        return handled

    async def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                await self._inbox_wakeup.ensure_listening()
                # Cleared first, so that a message stored during this round wakes the next.
                self._inbox_wakeup.event.clear()
                self._swept = 0
                handled = await self.run_once()
                if handled or self._swept:
                    continue
                await self._wait_for_work()
        finally:
            await self._inbox_wakeup.close()

    async def _wait_for_work(self) -> None:
        """Wait for a stop, a new inbox message or the poll interval, whichever comes first."""
        waits = {
            asyncio.ensure_future(self._stopping.wait()),
            asyncio.ensure_future(self._inbox_wakeup.event.wait()),
        }
        try:
            await asyncio.wait(
                waits,
                timeout=self.settings.worker_poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiting in waits:
                waiting.cancel()


async def run_forever(
    settings: Settings, *, metrics_host: str = "127.0.0.1", metrics_port: int | None = None
) -> None:
    """Run the worker on its own database engine until SIGINT or SIGTERM.

    With ``metrics_port`` it also serves its Prometheus metrics on ``metrics_host``.
    """
    engine = create_engine(settings.resolved_database_url)
    instrument_pool(engine)
    remove_ended_processes()
    tracing = setup_tracing(None, engine)
    session_factory = create_session_factory(engine)
    # The bot reads menus, opening hours and zones through the same caches as the API replicas.
    menu_cache = create_menu_cache(settings, session_factory)
    terms_cache = create_terms_cache(settings, session_factory)
    worker = Worker(settings, session_factory)
    order_gauges = OpenOrderGauges(session_factory)
    metrics_server: MetricsServer | None = None
    if metrics_port is not None:
        metrics_server = start_metrics_server(metrics_host, metrics_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def request_stop(signal_number: signal.Signals) -> None:
        logger.info("worker.signal_received", signal=signal_number.name)
        stop.set()

    for signal_number in signals:
        loop.add_signal_handler(signal_number, request_stop, signal_number)
    try:
        worker.start()
        order_gauges.start()
        await stop.wait()
    finally:
        for signal_number in signals:
            loop.remove_signal_handler(signal_number)
        await worker.stop()
        await order_gauges.stop()
        if metrics_server is not None:
            metrics_server.stop()
        await menu_cache.close()
        await terms_cache.close()
        if tracing is not None:
            tracing.shutdown()
        await engine.dispose()
        mark_this_process_ended()
