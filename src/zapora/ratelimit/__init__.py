"""Request rate limits per client IP, per route class, shared by every replica.

Each request path maps to a route class in ``middleware.ROUTE_CLASSES``:

- ``default``: the staff API, ``ZAPORA_RATE_LIMIT_DEFAULT`` per client IP.
- ``public``: the public menu, ``ZAPORA_RATE_LIMIT_PUBLIC`` per client IP.
- ``login``: the login routes, ``ZAPORA_RATE_LIMIT_LOGIN_IP`` per client IP, and
  ``ZAPORA_RATE_LIMIT_LOGIN_ACCOUNT`` failed attempts per account (``login.py``).
- ``webhook``: the WhatsApp webhook, ``ZAPORA_RATE_LIMIT_WEBHOOK`` for all of Meta's
  traffic together, because every request comes from Meta's servers.
- ``/health`` and ``/metrics`` are not limited.

The client IP is the one RequestContextMiddleware derives, which believes X-Forwarded-For
only from ``ZAPORA_TRUSTED_PROXIES``. IPv6 clients are counted per /64 network. Counters
live in Redis when ``ZAPORA_REDIS_URL`` is set, so all replicas share one limit, and in
process memory otherwise, where each process counts on its own.

When Redis fails, requests are allowed (fail open): a broken Redis must not take the API
down with it, and the cost is that limits are not enforced until it is back. Each such
request counts as ``result="error"`` in ``zapora_rate_limit_decisions_total``, and each
process logs a warning at most once a minute.
"""
