"""Webhook authentication: the ``X-Hub-Signature-256`` body signature and the verify token."""

from __future__ import annotations

import hashlib
import hmac
import string

from pydantic import SecretStr

from zapora.whatsapp.errors import (
    InvalidSignatureError,
    SignatureMissingError,
    VerificationFailedError,
    WebhookDisabledError,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
_HEX_DIGITS = frozenset(string.hexdigits)
_SHA256_HEX_LENGTH = 64


def compute_signature(body: bytes, secret: str) -> str:
    """Return the hex HMAC-SHA256 of ``body`` keyed with the app secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: SecretStr | None) -> None:
    """Raise unless ``header`` is ``sha256=<hex>`` of the exact ``body`` bytes.

    The digest must be computed over the raw bytes: Meta escapes non-ASCII as ``\\uXXXX``
    and ``/`` as ``\\/``, so JSON serialised again gives another digest. A missing header is
    a 401; a malformed, non-ASCII or wrong one is a 403. Without an app secret every request
    is rejected, so an unconfigured deployment never accepts unsigned events.
    """
    if secret is None or not secret.get_secret_value():
        raise WebhookDisabledError(
            "The WhatsApp webhook is disabled because no app secret is configured.",
            fix="set ZAPORA_WHATSAPP_APP_SECRET to the Meta app secret and restart",
        )
    if header is None:
        raise SignatureMissingError(
            f"The {SIGNATURE_HEADER} header is missing.",
            field=SIGNATURE_HEADER,
            fix="send the HMAC-SHA256 of the body as 'sha256=<hex>'",
        )
    digest = header.removeprefix(SIGNATURE_PREFIX)
    well_formed = (
        header.isascii()
        and header.startswith(SIGNATURE_PREFIX)
        and len(digest) == _SHA256_HEX_LENGTH
        and all(character in _HEX_DIGITS for character in digest)
    )
    expected = compute_signature(body, secret.get_secret_value()).encode()
    if not well_formed or not hmac.compare_digest(expected, digest.lower().encode()):
        raise InvalidSignatureError(
            f"The {SIGNATURE_HEADER} header does not match the body.",
            field=SIGNATURE_HEADER,
            fix="sign the exact body bytes with the app secret as 'sha256=<hex>'",
        )


def check_verification(
    mode: str | None, token: str | None, expected_token: SecretStr | None
) -> None:
    """Raise unless a subscription request has mode ``subscribe`` and the configured token."""
    configured = expected_token.get_secret_value() if expected_token is not None else ""
    if not configured:
        raise VerificationFailedError(
            "Webhook verification is disabled because no verify token is configured.",
            fix="set ZAPORA_WHATSAPP_VERIFY_TOKEN to the token entered in the Meta app",
        )
    token_matches = hmac.compare_digest(configured.encode(), (token or "").encode())
    if mode != "subscribe" or not token_matches:
        raise VerificationFailedError(
            "The verification request has the wrong mode or verify token.",
            field="hub.verify_token",
            fix="use hub.mode=subscribe and the token set in ZAPORA_WHATSAPP_VERIFY_TOKEN",
        )
