"""Rate limit and trusted proxy settings: accepted forms and startup errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zapora.config import Settings
from zapora.ratelimit.limiter import storage_uri
from zapora.ratelimit.middleware import address_bucket, classify


def _from_env(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.0.0/8,127.0.0.1", ["10.0.0.0/8", "127.0.0.1"]),
        (" 10.0.0.0/8 , ::1 ,", ["10.0.0.0/8", "::1"]),
        ('["10.0.0.0/8", "fd00::/8"]', ["10.0.0.0/8", "fd00::/8"]),
        ("", []),
    ],
    ids=["comma", "spaces", "json", "empty"],
)
def test_trusted_proxies_forms(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    settings = _from_env(monkeypatch, ZAPORA_TRUSTED_PROXIES=value)
    assert settings.trusted_proxies == expected


@pytest.mark.parametrize("value", ["10.0.0.0/33", "proxy.internal", "10.0.0.1,300.1.1.1"])
def test_invalid_trusted_proxy_rejected(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _from_env(monkeypatch, ZAPORA_TRUSTED_PROXIES=value)
    bad_entry = value.split(",")[-1]
    assert f"invalid trusted proxy '{bad_entry}'" in str(caught.value)


def test_invalid_trusted_proxy_json_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as caught:
        _from_env(monkeypatch, ZAPORA_TRUSTED_PROXIES='["10.0.0.0/8"')
    assert "invalid JSON list in ZAPORA_TRUSTED_PROXIES" in str(caught.value)


def test_trusted_proxies_from_keyword() -> None:
    settings = Settings(trusted_proxies="192.168.0.0/16,10.0.0.1")  # type: ignore[arg-type]
    assert settings.trusted_proxies == ["192.168.0.0/16", "10.0.0.1"]


@pytest.mark.parametrize("value", ["100/minuets", "", "0/minute", "5/minute;x"])
def test_invalid_rate_limit_rejected(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _from_env(monkeypatch, ZAPORA_RATE_LIMIT_LOGIN_ACCOUNT=value)
    assert f"invalid rate limit '{value}' in ZAPORA_RATE_LIMIT_LOGIN_ACCOUNT" in str(caught.value)


def test_rate_limit_with_several_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _from_env(monkeypatch, ZAPORA_RATE_LIMIT_DEFAULT="10/second;1000/hour")
    assert settings.rate_limit_default == "10/second;1000/hour"


@pytest.mark.parametrize(
    ("redis_url", "expected"),
    [
        ("", "async+memory://"),
        ("redis://127.0.0.1:6379/0", "async+redis://127.0.0.1:6379/0"),
        ("rediss://cache.internal:6380", "async+rediss://cache.internal:6380"),
        ("async+redis://127.0.0.1:6379", "async+redis://127.0.0.1:6379"),
    ],
)
def test_storage_uri(redis_url: str, expected: str) -> None:
    assert storage_uri(redis_url) == expected


@pytest.mark.parametrize(
    ("path", "route_class"),
    [
        ("/health", None),
        ("/metrics", None),
        ("/webhooks/whatsapp", "webhook"),
        ("/api/v1/auth/login", "login"),
        ("/api/v1/auth/token", "login"),
        ("/api/v1/auth/refresh", "default"),
        ("/api/v1/stores/pizza-roma/menu", "public"),
        ("/api/v1/stores/pizza-roma/items", "default"),
        ("/api/v1/stores", "default"),
        ("/healthz", "default"),
        ("/docs", "default"),
    ],
)
def test_route_classes(path: str, route_class: str | None) -> None:
    assert classify(path) == route_class


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_address_buckets(address: str, bucket: str) -> None:
    assert address_bucket(address) == bucket
