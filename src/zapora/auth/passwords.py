"""Argon2 password hashing through pwdlib."""

from __future__ import annotations

import asyncio
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    # Verifying against this keeps an unknown email as slow as a wrong password.
    return _hasher.hash("zapora-dummy-password")


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


def verify_password_sync(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    if password_hash is None:
        _hasher.verify(password, _dummy_hash())
        return False, None
    return _hasher.verify_and_update(password, password_hash)


# Argon2 takes a few hundred milliseconds of CPU by design; running it in a thread keeps the
# event loop serving other requests meanwhile.
async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Check a password; return whether it matches and a new hash when parameters changed."""
    return await asyncio.to_thread(verify_password_sync, password, password_hash)
