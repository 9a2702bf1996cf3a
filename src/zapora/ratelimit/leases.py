"""Requests a process counts in Redis ahead of time, for clients that send many at once.

A client that sends hundreds of requests a second to one replica would cost that replica a
Redis round trip per request, which takes more CPU than a cached menu read. So the replica
has the script count several of the client's requests at once, and lets that many through
without another call: a lease. Every request a lease lets through was counted in Redis
first.

A lease is sized by what the client used of the previous one. It starts at one request,
doubles while the client uses it up, and shrinks to what was used when it runs out of time
first. It never exceeds a hundredth of the policy's smallest limit, so limits under 200 per
window are counted one request at a time, as before.

A lease lives five seconds, or a tenth of the policy's shortest window when that is
shorter. A request handed out after its fixed window ended still weighs at least nine
tenths in the sliding count, so the replicas together let through at most a thousandth of
a limit more than it, per replica. Requests counted for a lease that ends unused stay
counted: a client that slows down abruptly may be rejected up to one lease early on each
replica.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The maximum lifetime of a lease, and the share of the shortest window it may last.
LEASE_SECONDS = 5.0
LEASE_WINDOW_SHARE = 10
# A lease contains at most this share of the policy's smallest limit.
LEASE_LIMIT_SHARE = 100


def lease_terms(windows: list[tuple[int, float]]) -> tuple[int, float]:
    """Return the largest lease and its lifetime for windows of (limit, period in seconds)."""
    largest = max(1, min(limit for limit, _ in windows) // LEASE_LIMIT_SHARE)
    lifetime = min(LEASE_SECONDS, min(period for _, period in windows) / LEASE_WINDOW_SHARE)
    return largest, lifetime


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

    ``refilling`` is set while a request runs the script for the next lease.
    """

    counted: int = 0
    tokens: int = 0
    expires_at: float = 0.0
    granted: Granted | None = None
    refilling: bool = False

    def take(self, now: float) -> Granted | None:
        """Hand out one counted request, or return None when none is left or it expired."""
        if self.tokens <= 0 or self.ended(now) or self.granted is None:
            return None
        self.tokens -= 1
        return self.granted

    def ended(self, now: float) -> bool:
        return now >= self.expires_at

    def next_size(self, now: float, largest: int) -> int:
        """Size the next lease by how the client used this one."""
        if self.counted == 0:
            return 1
        used = self.counted - self.tokens
        if self.tokens == 0 and not self.ended(now):
            return min(largest, self.counted * 2)
        return max(1, min(largest, used))

    def fill(self, counted: int, granted: Granted, now: float, lifetime: float) -> None:
        """Keep ``counted`` requests, one of them already handed out to the requesting caller."""
        self.counted = counted
        self.tokens = counted - 1
        self.expires_at = now + lifetime
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
