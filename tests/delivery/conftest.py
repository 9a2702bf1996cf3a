"""Fixtures for the delivery tests: a store with a location and couriers, and an S3 server.

Rate limiting is off: these tests log in several couriers and call routes in quick
succession. The S3-compatible server is moto's, bound to 127.0.0.1 on a free port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import make_settings
from tests.delivery.builders import Dispatch, S3Server, make_dispatch
from zapora.config import Settings

S3_BUCKET = "zapora-proofs"
S3_ACCESS_KEY = "test-access-key"
S3_SECRET_KEY = "test-secret-key"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """An S3-compatible server for the whole session, with the proof bucket created."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    )
    client.create_bucket(Bucket=S3_BUCKET)
    try:
        yield S3Server(endpoint_url=endpoint, bucket=S3_BUCKET, client=client)
    finally:
        server.stop()


@pytest.fixture
def storage_path(tmp_path: Path) -> Path:
    return tmp_path / "files"


@pytest.fixture
def settings(database_url: str, storage_path: Path) -> Settings:
    return make_settings(
        database_url,
        rate_limit_enabled=False,
        storage_local_path=storage_path,
        proof_photo_max_bytes=4096,
    )


@pytest.fixture
async def dispatch(session: AsyncSession, client: httpx.AsyncClient) -> Dispatch:
    """A store at Avenida Paulista with a menu, a logged-in manager and three couriers."""
    return await make_dispatch(session, client)


@pytest.fixture
async def other_dispatch(session: AsyncSession, client: httpx.AsyncClient) -> Dispatch:
    """A second such store, whose staff and couriers must never reach the first one's data."""
    return await make_dispatch(session, client)
