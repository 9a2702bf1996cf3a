"""The signing key must be long and not the placeholder outside development."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from zapora.config import DEVELOPMENT_SECRET_KEY, Environment, Settings


def _settings(environment: Environment, secret_key: str) -> Settings:
    return Settings(_env_file=None, environment=environment, secret_key=secret_key)  # type: ignore[call-arg]


@pytest.mark.parametrize("environment", [Environment.PRODUCTION, Environment.TEST])
def test_placeholder_key_rejected(environment: Environment):
    with pytest.raises(ValidationError, match="ZAPORA_SECRET_KEY"):
        _settings(environment, DEVELOPMENT_SECRET_KEY)


@pytest.mark.parametrize("length", [0, 16, 31])
def test_short_key_rejected_in_production(length: int):
    with pytest.raises(ValidationError, match="at least 32"):
        _settings(Environment.PRODUCTION, "k" * length)


def test_random_key_accepted_in_production():
    key = secrets.token_urlsafe(48)

    settings = _settings(Environment.PRODUCTION, key)

    assert settings.secret_key.get_secret_value() == key


def test_key_of_32_characters_accepted():
    settings = _settings(Environment.PRODUCTION, "x" * 32)

    assert len(settings.secret_key.get_secret_value()) == 32


def test_development_accepts_placeholder():
    settings = _settings(Environment.DEVELOPMENT, DEVELOPMENT_SECRET_KEY)

    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY


def test_development_default_is_placeholder(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ZAPORA_SECRET_KEY", raising=False)

    settings = Settings(_env_file=None, environment=Environment.DEVELOPMENT)  # type: ignore[call-arg]

    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
