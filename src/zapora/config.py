"""Settings read from the environment, every variable prefixed ``ZAPORA_``."""

from __future__ import annotations

import ipaddress
import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from limits import parse_many
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me-0000"  # noqa: S105


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class WhatsAppTransport(StrEnum):
    CLOUD = "cloud"
    LOG = "log"


class StorageBackend(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class Settings(BaseSettings):
    """Service configuration; embedded defaults need no servers."""

    model_config = SettingsConfigDict(env_prefix="ZAPORA_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; empty means a SQLite file in the working folder.",
    )
    sqlite_path: Path = Path("zapora.db")
    redis_url: str = ""
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    jwt_issuer: str = "zapora"
    jwt_audience: str = "zapora-api"
    log_level: str = "INFO"
    log_json: bool | None = None

    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com/v23.0"
    whatsapp_transport: WhatsAppTransport | None = None
    whatsapp_timeout_seconds: float = Field(default=10.0, gt=0)
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        min_length=1,
        description="Address customers reach this service at; order tracking links start with it.",
    )

    conversation_ttl_minutes: int = Field(default=60, ge=1)
    inbox_max_attempts: int = Field(default=5, ge=1)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_base_seconds: float = Field(default=2.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=600.0, gt=0)
    outbox_lease_seconds: int = Field(default=60, ge=5)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    run_worker_in_process: bool | None = None
    # Whether the API process handles stored webhook messages right after its response.
    # Unset, it does so only where it also runs the worker (the embedded SQLite mode), so
    # API replicas only verify, store and acknowledge, and `zapora worker` does the rest.
    process_webhooks_inline: bool | None = None
    # After SIGTERM, `serve` keeps serving but reports not ready for shutdown_delay_seconds,
    # so that a load balancer stops routing to it. Then it waits up to
    # shutdown_timeout_seconds for requests in flight before cancelling them.
    shutdown_delay_seconds: float = Field(default=0.0, ge=0)
    shutdown_timeout_seconds: int = Field(default=30, ge=1)
    idempotency_key_hours: int = Field(default=24, ge=1)

    # Proof-of-delivery photos: a local folder in the embedded mode, or any S3-compatible
    # object store (AWS S3, MinIO, ...). Staff read them through short-lived signed URLs.
    storage_backend: StorageBackend = StorageBackend.LOCAL
    storage_local_path: Path = Path("zapora-files")
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    signed_url_seconds: int = Field(default=300, ge=10, le=7 * 24 * 3600)
    proof_photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

    # Minutes past an order's estimate before its customer gets the one delay message.
    delay_notice_grace_minutes: int = Field(default=10, ge=0)
    # Status updates about one order closer together than this are merged into the latest.
    notification_merge_seconds: float = Field(default=5.0, ge=0)

    refresh_token_days: int = Field(default=30, ge=1, le=365)

    cache_ttl_seconds: int = Field(default=300, ge=1)
    cache_key_prefix: str = Field(
        default="zapora:cache",
        min_length=1,
        description="Prefix of the cache's Redis keys.",
    )

    # Rate limits use the `limits` notation: "100/minute", "10/second;1000/hour".
    rate_limit_enabled: bool = True
    rate_limit_default: str = "100/minute"
    rate_limit_login_ip: str = "10/minute"
    rate_limit_login_account: str = "5/minute;20/hour"
    rate_limit_webhook: str = "6000/minute"
    rate_limit_public: str = "300/minute"
    rate_limit_key_prefix: str = Field(
        default="zapora:ratelimit",
        min_length=1,
        description="Prefix of the rate limit counters' Redis keys.",
    )
    # NoDecode lets the validator accept "10.0.0.0/8,127.0.0.1" as well as a JSON list.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Peers (IPs or CIDR blocks) whose X-Forwarded-For header is believed, "
            "comma-separated or a JSON list."
        ),
    )

    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    https_redirect: bool = False
    hsts_seconds: int = Field(default=31_536_000, ge=0)

    @field_validator(
        "rate_limit_default",
        "rate_limit_login_ip",
        "rate_limit_login_account",
        "rate_limit_webhook",
        "rate_limit_public",
    )
    @classmethod
    def _check_rate_limit(cls, value: str, info: ValidationInfo) -> str:
        variable = f"ZAPORA_{str(info.field_name).upper()}"
        fix = "use the form '100/minute' or '5/minute;20/hour'"
        try:
            items = parse_many(value)
        except ValueError:
            raise ValueError(f"invalid rate limit '{value}' in {variable}: {fix}") from None
        if any(item.amount < 1 for item in items):
            raise ValueError(f"invalid rate limit '{value}' in {variable}: allow at least 1")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_trusted_proxies(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(
                    f"invalid JSON list in ZAPORA_TRUSTED_PROXIES: {text!r}. "
                    "Send a JSON list of strings or comma-separated values."
                ) from None
        return [entry for entry in text.split(",") if entry.strip()]

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: list[str]) -> list[str]:
        entries = [entry.strip() for entry in value]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"invalid trusted proxy '{entry}' in ZAPORA_TRUSTED_PROXIES: use an IP "
                    "such as 10.0.0.1 or a CIDR block such as 10.0.0.0/8"
                ) from None
        return entries

    @model_validator(mode="after")
    def _reject_placeholder_secret(self) -> Settings:
        if self.environment is not Environment.DEVELOPMENT:
            key = self.secret_key.get_secret_value()
            if key == DEVELOPMENT_SECRET_KEY or len(key) < 32:
                raise ValueError(
                    "ZAPORA_SECRET_KEY must be at least 32 random characters outside "
                    f"development (ZAPORA_ENVIRONMENT={self.environment.value}); "
                    "generate one with: "
                    "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
                )
        return self

    @model_validator(mode="after")
    def _require_bucket_for_s3(self) -> Settings:
        if self.storage_backend is StorageBackend.S3 and not self.s3_bucket.strip():
            raise ValueError(
                "ZAPORA_S3_BUCKET is empty while ZAPORA_STORAGE_BACKEND=s3: name the bucket "
                "that keeps proof-of-delivery photos, or set ZAPORA_STORAGE_BACKEND=local"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.sqlite_path}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_transport(self) -> WhatsAppTransport:
        """Return the outbound transport: ``cloud`` needs an explicit choice."""
        return self.whatsapp_transport or WhatsAppTransport.LOG

    @property
    def worker_in_process(self) -> bool:
        """Return whether ``serve`` runs the sender itself (the embedded default)."""
        if self.run_worker_in_process is not None:
            return self.run_worker_in_process
        return self.is_sqlite

    @property
    def webhooks_processed_inline(self) -> bool:
        """Return whether the webhook route processes the messages it stored itself."""
        if self.process_webhooks_inline is not None:
            return self.process_webhooks_inline
        return self.worker_in_process

    @property
    def logs_as_json(self) -> bool:
        if self.log_json is not None:
            return self.log_json
        return self.environment is Environment.PRODUCTION


@lru_cache
def get_settings() -> Settings:
    return Settings()
