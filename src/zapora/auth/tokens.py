"""Issue and decode JWT access tokens (HS256 only, issuer, audience and type checked)."""

from __future__ import annotations

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


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify an access token and return its claims, or raise AuthenticationError.

    Only HS256 is accepted, so a header naming ``none``, another HMAC size or an RSA
    algorithm is rejected before any signature check.
    """
    try:
        claims = jwt.decode(
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
    if claims["typ"] != ACCESS_TOKEN_TYPE:
        raise _invalid("The token is not an access token.")
    version = claims["ver"]
    role = claims["role"]
    if not isinstance(version, int) or isinstance(version, bool) or not isinstance(role, str):
        raise _invalid()
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise _invalid() from exc
    return AccessClaims(user_id=user_id, role=role, token_version=version)
