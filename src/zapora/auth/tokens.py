"""Issue and decode JWT access tokens (HS256 only, issuer, audience and type checked)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt

from zapora.auth.models import User
from zapora.config import Settings
from zapora.db import utcnow
from zapora.errors import AuthenticationError

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105
REQUIRED_CLAIMS = ("sub", "role", "ver", "typ", "iss", "aud", "iat", "exp", "jti")
# Maximum count of verified tokens cached. Past it they are all dropped.
MAX_VERIFIED_TOKENS = 10_000


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    role: str
    token_version: int


def issue_access_token(settings: Settings, user: User) -> tuple[str, int]:
    """Sign an access token for ``user``, and return it with its lifetime in seconds.

    The ``ver`` claim is the user's token version at issue time: bumping the version in
    the database voids every access token issued before.
    """
    now = utcnow()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user.id),
        "role": user.role,
        "ver": user.token_version,
        "typ": ACCESS_TOKEN_TYPE,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def _invalid(detail: str = "The access token is invalid.") -> AuthenticationError:
    return AuthenticationError(detail, fix="log in at /api/v1/auth/login for a new token")


@dataclass(frozen=True)
class _Verified:
    claims: AccessClaims
    expires_at: int


# Tokens that passed verification, by the token and the settings that verified it, so that a
# client's next requests skip the signature check. Only the expiry is checked again.
_verified: dict[tuple[str, str, str, str], _Verified] = {}


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify an access token and return its claims, or raise AuthenticationError.

    Only HS256 is accepted, so a header naming ``none``, another HMAC size or an RSA
    algorithm is rejected before any signature check.
    """
    key = (
        token,
        settings.secret_key.get_secret_value(),
        settings.jwt_audience,
        settings.jwt_issuer,
    )
    verified = _verified.get(key)
    if verified is None:
        verified = _verify(settings, token)
        if len(_verified) >= MAX_VERIFIED_TOKENS:
            _verified.clear()
        _verified[key] = verified
    elif verified.expires_at <= time.time():
        # The same test as PyJWT's: expired once the current time reaches exp.
        del _verified[key]
        raise _invalid("The access token has expired.")
    return verified.claims


def _verify(settings: Settings, token: str) -> _Verified:
    try:
        payload = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _invalid("The access token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise _invalid() from exc
    if payload["typ"] != ACCESS_TOKEN_TYPE:
        raise _invalid("The token is not an access token.")
    version = payload["ver"]
    role = payload["role"]
    if not isinstance(version, int) or isinstance(version, bool) or not isinstance(role, str):
        raise _invalid()
    try:
        user_id = uuid.UUID(str(payload["sub"]))
    except ValueError as exc:
        raise _invalid() from exc
    claims = AccessClaims(user_id=user_id, role=role, token_version=version)
    # PyJWT has checked that exp reads as an integer.
    return _Verified(claims=claims, expires_at=int(payload["exp"]))
