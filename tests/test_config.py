"""Settings that only make sense together are checked when the service starts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zapora.config import Settings, StorageBackend


def test_s3_storage_needs_a_bucket() -> None:
    with pytest.raises(ValidationError, match="ZAPORA_S3_BUCKET"):
        Settings(_env_file=None, storage_backend=StorageBackend.S3, s3_bucket=" ")  # type: ignore[call-arg]


def test_s3_storage_with_a_bucket() -> None:
    settings = Settings(_env_file=None, storage_backend=StorageBackend.S3, s3_bucket="proofs")  # type: ignore[call-arg]

    assert settings.s3_bucket == "proofs"
