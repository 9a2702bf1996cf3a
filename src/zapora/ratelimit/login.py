"""Per-account login throttling: failed logins for one email are limited across all IPs.

The middleware limits login requests per client IP. This adds a limit on failed attempts
per account, which an attacker spreading guesses over many addresses cannot escape.
Unknown emails are counted like real ones, so the throttle does not reveal which accounts
exist. A successful login clears the account's failures: only the password's owner can
do that, and a user who mistyped a few times is not locked out by their next typo.
A throttled account rejects the correct password too until the window frees, so someone
who keeps guessing can lock the owner out for at most the longest window of
``rate_limit_login_account``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import structlog
from fastapi import Depends, Request

from zapora.auth.service import normalise_email
from zapora.ratelimit.limiter import Policy, RateLimiter, RouteClass
from zapora.ratelimit.responses import RateLimitedError

logger = structlog.get_logger(__name__)


def account_key(email: str) -> str:
    """Return the counter key of an account: a digest, so Redis key names show no emails."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


class AccountThrottle:
    """Failed-login limits of accounts. A throttle without a limiter allows every attempt."""

    def __init__(self, limiter: RateLimiter | None, policy: Policy | None) -> None:
        self.limiter = limiter
        self.policy = policy

    @asynccontextmanager
    async def guard(self, email: str) -> AsyncIterator[None]:
        """Guard a password check for ``email``.

        Every attempt takes a slot before the password is checked, and a success clears the
        count. Taking the slot first makes concurrent guesses count: checking the counter
        and adding the failure afterwards would let every request in flight pass.
        Raise RateLimitedError when the account's windows are full.
        """
        if self.limiter is None or self.policy is None:
            yield
            return
        key = account_key(email)
        decision = await self.limiter.acquire(self.policy, key)
        if not decision.allowed:
            logger.info("auth.login_throttled", account_key=key[:12])
            raise RateLimitedError(decision, "failed logins for this account")
        yield
        await self.limiter.clear(self.policy, key)


def get_account_throttle(request: Request) -> AccountThrottle:
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        return AccountThrottle(None, None)
    policies: dict[RouteClass, Policy] = request.app.state.rate_limit_policies
    return AccountThrottle(limiter, policies[RouteClass.LOGIN_ACCOUNT])


AccountThrottleDep = Annotated[AccountThrottle, Depends(get_account_throttle)]
