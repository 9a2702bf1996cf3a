"""The chat loop: read typed lines, post them to the webhook, print what the bot sends back."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import typer

from zapora.chat.graph_server import GraphEvent, GraphServer, RejectedMessage, SentMessage
from zapora.chat.render import (
    Choice,
    InputError,
    Quit,
    SendMessage,
    ShowHelp,
    parse_line,
    render_message,
)
from zapora.chat.webhook_client import SignatureRejectedError, WebhookClient, WebhookError
from zapora.observability.logging import mask_phone

HELP = """\
Type a message and press Enter to send it as text.
  N                       choose option N of the bot's latest list or buttons
  /loc LAT LNG [address]  share a location, e.g. /loc -23.5614 -46.6559 Av. Paulista, 1000
  /help                   show this help
  /quit                   leave (Ctrl+D works too)"""
DELIVERY_STATUSES = ("sent", "delivered", "read")


@dataclass(frozen=True)
class Timing:
    """How long the loop waits for the bot before reading the next typed line, in seconds."""

    # The first reply must arrive within this time, or the chat reports that none came.
    reply_timeout: float = 15.0
    # Replies often come in a burst; the next line is read once none came for this long.
    quiet_period: float = 0.7
    # Statuses follow a short pause so the server has stored the message id first.
    status_delay: float = 0.3
    # At exit, statuses still being reported get this long to finish.
    status_timeout: float = 5.0


class Console:
    """Terminal output that keeps the input prompt on its own line."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.prompt_shown = False

    def show_prompt(self) -> None:
        if self.interactive:
            typer.echo("> ", nl=False)
            self.prompt_shown = True

    def write(self, text: str, *, err: bool = False, color: str | None = None) -> None:
        if self.prompt_shown:
            # Clear the half-written prompt line, print, then redraw the prompt below.
            typer.echo("\r\033[K", nl=False)
        typer.secho(text, err=err, fg=color)
        if self.prompt_shown:
            typer.echo("> ", nl=False)


def start_stdin_reader(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Read stdin lines on a daemon thread; ``None`` marks the end of input.

    A daemon thread, unlike ``asyncio.to_thread``, cannot keep the process alive at exit
    while it waits for a line.
    """
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def publish(line: str | None) -> None:
        try:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        except RuntimeError:
            # The loop has closed: the chat is over and the line has nowhere to go.
            return

    def read() -> None:
        while line := sys.stdin.readline():
            publish(line.rstrip("\r\n"))
        publish(None)

    threading.Thread(target=read, name="chat-stdin", daemon=True).start()
    return lines


class ChatSession:
    """One simulated customer talking to a store's bot."""

    def __init__(
        self,
        client: WebhookClient,
        graph: GraphServer,
        console: Console,
        *,
        store_name: str,
        report_statuses: bool = True,
        timing: Timing | None = None,
    ) -> None:
        self.client = client
        self.graph = graph
        self.console = console
        self.store_name = store_name
        self.report_statuses = report_statuses
        self.timing = timing or Timing()
        self.choices: Sequence[Choice] = ()
        self.context_id: str | None = None
        self.replies = 0
        self._reply_arrived = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

    async def run(self, lines: asyncio.Queue[str | None]) -> int:
        """Chat until ``/quit`` or the end of input; return the process exit code."""
        receiver = asyncio.create_task(self._receive())
        try:
            exit_code = await self._read_loop(lines)
            if self._background:
                # Let the statuses of the last replies go out before the chat ends.
                await asyncio.wait(set(self._background), timeout=self.timing.status_timeout)
            return exit_code
        finally:
            receiver.cancel()
            for task in (receiver, *self._background):
                task.cancel()
            await asyncio.gather(receiver, *self._background, return_exceptions=True)

    async def _read_loop(self, lines: asyncio.Queue[str | None]) -> int:
        while True:
            self.console.show_prompt()
            line = await lines.get()
            self.console.prompt_shown = False
            if line is None:
                return 0
            if not self.console.interactive:
                self.console.write(f"> {line}")
            action = parse_line(line, self.choices, self.context_id)
            if isinstance(action, Quit):
                return 0
            if isinstance(action, ShowHelp):
                self.console.write(HELP)
            elif isinstance(action, InputError):
                self.console.write(action.detail, err=True, color="yellow")
            elif isinstance(action, SendMessage):
                try:
                    await self._send(action)
                except SignatureRejectedError as exc:
                    self.console.write(f"error: {exc}", err=True, color="red")
                    return 1
                except WebhookError as exc:
                    self.console.write(f"error: {exc}", err=True, color="red")

    async def _send(self, action: SendMessage) -> None:
        interactive = action.message.get("interactive")
        if interactive is not None:
            reply = interactive[interactive["type"]]
            self.console.write(f"(choosing '{reply['title']}')", color="cyan")
        replies_before = self.replies
        await self.client.send_message(action.message)
        await self._wait_for_replies(replies_before)

    async def _wait_for_replies(self, replies_before: int) -> None:
        try:
            async with asyncio.timeout(self.timing.reply_timeout):
                while self.replies == replies_before:
                    self._reply_arrived.clear()
                    await self._reply_arrived.wait()
        except TimeoutError:
            self.console.write(
                f"(no reply within {self.timing.reply_timeout:g} s: check the server log, "
                "and that it sends to this simulator through "
                f"ZAPORA_WHATSAPP_API_BASE_URL={self.graph.base_url})",
                color="yellow",
            )
            return
        while True:
            self._reply_arrived.clear()
            try:
                await asyncio.wait_for(self._reply_arrived.wait(), self.timing.quiet_period)
            except TimeoutError:
                return

    async def _receive(self) -> None:
        while True:
            event = await self.graph.events.get()
            self.handle_event(event)

    def handle_event(self, event: GraphEvent) -> None:
        """Print a message the bot sent to this customer and remember its choices."""
        customer = self.client.customer
        if event.phone_number_id != customer.phone_number_id or event.to != customer.wa_id:
            self.console.write(
                f"(a message to {mask_phone(event.to)} from phone number id "
                f"{event.phone_number_id} is not shown)",
                color="bright_black",
            )
            return
        if isinstance(event, RejectedMessage):
            self.console.write(
                f"the Graph API would reject a message to you: (#{event.code}) {event.details}",
                err=True,
                color="red",
            )
            return
        rendered = render_message(event.body)
        self.console.write(f"{self.store_name}:", color="green")
        self.console.write("\n".join(f"  {line}" for line in rendered.lines) or "  (empty)")
        # Numbers refer to the latest message only, so a number typed after a text is text.
        self.choices = rendered.choices
        self.context_id = event.message_id
        self.replies += 1
        self._reply_arrived.set()
        if self.report_statuses:
            task = asyncio.create_task(self._report_statuses(event))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _report_statuses(self, event: SentMessage) -> None:
        callback_data = event.body.get("biz_opaque_callback_data")
        try:
            for status in DELIVERY_STATUSES:
                await asyncio.sleep(self.timing.status_delay)
                await self.client.send_status(event.message_id, status, callback_data=callback_data)
        except WebhookError as exc:
            self.console.write(f"error reporting a delivery status: {exc}", err=True, color="red")
