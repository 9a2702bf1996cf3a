"""Requests a process counts in Redis ahead of time, for clients that send many at once.

A client that sends hundreds of requests a second to one replica would cost that replica a
Redis round trip per request, which takes more CPU than a cached menu read. So the replica
has the script count several of the client's requests at once, and lets that many through
without another call: a lease. Redis still counts every request that passes before
it passes, so the replicas together never let more through than a limit allows.

A lease is sized by what the client used of the previous one. It starts at one request,
doubles while the client uses it up, and shrinks to what was used when it runs out of time
first. It never exceeds a hundredth of the policy's smallest limit, so limits under 200 per
window are counted one request at a time, as before. Requests counted for a lease that ends
unused stay counted: a client that slows down abruptly may be refused that many requests
early, at most one lease per replica. A lease lives five seconds, so a request may be
counted up to that long before it arrives.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

# How long requests counted ahead of time may be handed out.
LEASE_SECONDS = 5.0
# A lease holds at most this share of the policy's smallest limit.
LEASE_SHARE = 100


def largest_lease(limits: list[int]) -> int:
    """Return the most requests one lease may hold for windows with these limits."""
    return max(1, min(limits) // LEASE_SHARE)


@dataclass(slots=True)
class Granted:
    """The script's figures for the request that took a lease, kept for the later ones."""

    limit: int
    remaining: int
    reset_at: float
    window: str


@dataclass(slots=True)
class Lease:
    """Requests of one client counted in Redis and not yet handed out, in one process.

    ``refill`` is set while a request runs the script for the next lease. Other requests of
    the same client wait for it instead of running the script too. It resolves to the
    storage error when the call failed, so they fail open together.
    """

    size: int = 1
    counted: int = 0
    tokens: int = 0
    expires_at: float = 0.0
    granted: Granted | None = None
    refill: asyncio.Future[BaseException | None] | None = None

    def take(self, now: float) -> Granted | None:
        """Hand out one counted request, or return None when none is left or it expired."""
        if self.tokens <= 0 or now >= self.expires_at or self.granted is None:
            return None
        self.tokens -= 1
        return self.granted

    def next_size(self, now: float, largest: int) -> int:
        """Size the next lease by how the client used this one."""
        if self.counted == 0:
            return 1
        used = self.counted - self.tokens
        if self.tokens == 0 and now < self.expires_at:
            return min(largest, self.counted * 2)
        return max(1, min(largest, used))

    def fill(self, counted: int, granted: Granted, now: float) -> None:
        """Keep ``counted`` requests, one of them already handed out to the requesting caller."""
        self.counted = counted
        self.tokens = counted - 1
        self.expires_at = now + LEASE_SECONDS
        self.granted = granted

    def empty(self) -> None:
        self.counted = 0
        self.tokens = 0
        self.granted = None

    def remaining(self, granted: Granted) -> int:
        """Return the client's room as reported to it: Redis's figure plus what is left here."""
        return granted.remaining + self.tokens

    @staticmethod
    def reset_seconds(granted: Granted, now: float) -> int:
        return max(0, math.ceil(granted.reset_at - now))
