"""Object storage for uploaded files: a local folder or any S3-compatible service.

Both backends store bytes under a key and hand out short-lived signed URLs to read them.
The S3 backend signs with the S3 API's presigned GET. The local backend signs a URL to
``GET /files/{key}`` with an HMAC-SHA256 of the key and the expiry under the secret key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, urlencode

import boto3
from botocore.config import Config

from zapora.config import Settings, StorageBackend

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Keys are built by the application: slash-separated segments of lowercase letters, digits,
# '_' and '-', ending in a file extension.
_KEY_PATTERN = re.compile(r"^[a-z0-9_-]+(/[a-z0-9_-]+)*\.[a-z0-9]+$")
LOCAL_FILES_PATH = "/files/"


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


class ObjectStorage(Protocol):
    """Storage of uploaded files: ``put`` stores one and ``signed_url`` lets a reader fetch it."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def signed_url(self, key: str) -> SignedUrl: ...


def check_key(key: str) -> str:
    """Return ``key`` when it is a well-formed object key, else raise ValueError."""
    if not _KEY_PATTERN.fullmatch(key):
        raise ValueError(f"invalid object key {key!r}")
    return key


def _expiry(seconds: int) -> datetime:
    # Whole seconds, because the local URL carries the expiry as a Unix timestamp.
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)


def local_signature(secret: str, key: str, expires: int) -> str:
    """Return the HMAC-SHA256 that authorises reading ``key`` until the Unix time ``expires``."""
    # A key derived for file URLs, so a file signature can never pass as any other token.
    signing_key = hashlib.sha256(b"zapora-file-url\n" + secret.encode()).digest()
    message = f"{key}\n{expires}".encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()


class LocalStorage:
    """Files in a folder on this machine, for the embedded single-process mode."""

    def __init__(self, root: Path, *, secret: str, base_url: str, url_seconds: int) -> None:
        self.root = root
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._url_seconds = url_seconds

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path_of(key)
        await asyncio.to_thread(_write_file, path, data)

    async def signed_url(self, key: str) -> SignedUrl:
        expires_at = _expiry(self._url_seconds)
        expires = int(expires_at.timestamp())
        query = urlencode({"expires": expires, "signature": self.signature(key, expires)})
        url = f"{self._base_url}{LOCAL_FILES_PATH}{quote(check_key(key))}?{query}"
        return SignedUrl(url=url, expires_at=expires_at)

    def signature(self, key: str, expires: int) -> str:
        return local_signature(self._secret, key, expires)

    def is_valid(self, key: str, expires: int, signature: str, *, now: datetime) -> bool:
        """Return whether ``signature`` matches ``key`` and ``expires`` and has not expired."""
        if expires <= now.timestamp() or not _KEY_PATTERN.fullmatch(key):
            return False
        # Compared as bytes: compare_digest raises TypeError on a str with non-ASCII
        # characters, and the query string can carry any text.
        expected = self.signature(key, expires).encode()
        return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so a reader never sees half a file.
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


class S3Storage:
    """Objects in an S3 bucket through boto3, whose blocking calls run in a worker thread."""

    def __init__(self, client: S3Client, *, bucket: str, url_seconds: int) -> None:
        self._client = client
        self._bucket = bucket
        self._url_seconds = url_seconds

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self._bucket,
            Key=check_key(key),
            Body=data,
            ContentType=content_type,
        )

    async def signed_url(self, key: str) -> SignedUrl:
        expires_at = _expiry(self._url_seconds)
        # Presigning computes a signature locally and sends no request.
        url = self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": check_key(key)},
            ExpiresIn=self._url_seconds,
        )
        return SignedUrl(url=url, expires_at=expires_at)


def build_s3_client(settings: Settings) -> S3Client:
    """Create the S3 client from the settings; empty settings fall back to boto3's defaults."""
    access_key = settings.s3_access_key_id
    secret_key = settings.s3_secret_access_key
    client: S3Client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region,
        aws_access_key_id=access_key.get_secret_value() if access_key else None,
        aws_secret_access_key=secret_key.get_secret_value() if secret_key else None,
        config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}),
    )
    return client


def build_storage(settings: Settings) -> ObjectStorage:
    """Create the storage backend that ``storage_backend`` names."""
    if settings.storage_backend is StorageBackend.S3:
        if not settings.s3_bucket:
            raise ValueError("ZAPORA_S3_BUCKET must be set when ZAPORA_STORAGE_BACKEND is s3")
        return S3Storage(
            build_s3_client(settings),
            bucket=settings.s3_bucket,
            url_seconds=settings.signed_url_seconds,
        )
    return LocalStorage(
        settings.storage_local_path,
        secret=settings.secret_key.get_secret_value(),
        base_url=settings.public_base_url,
        url_seconds=settings.signed_url_seconds,
    )
