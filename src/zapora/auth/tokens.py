"""Issue and decode JWT access tokens (HS256, algorithm pinned)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt

from zapora.config import Settings
from zapora.db import utcnow
from zapora.errors import AuthenticationError

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    role: str
    issued_at: int


def issue_access_token(settings: Settings, *, user_id: uuid.UUID, role: str) -> tuple[str, int]:
    """Return a signed access token and its lifetime in seconds."""
    now = utcnow()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        "role": role,
        "typ": ACCESS_TOKEN_TYPE,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp", "iat", "iss", "aud", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError(
            "The access token has expired.", fix="log in again to get a new token"
        ) from exc
    except jwt.PyJWTError as exc:
        raise AuthenticationError(
            "The access token is invalid.", fix="send the token returned by /api/v1/auth/login"
        ) from exc
    if claims.get("typ") != ACCESS_TOKEN_TYPE:
        raise AuthenticationError("The token is not an access token.", fix="send an access token")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise AuthenticationError("The access token is invalid.", fix="log in again") from exc
    return AccessClaims(user_id=user_id, role=str(claims.get("role")), issued_at=int(claims["iat"]))
