"""The pieces of the local cluster that need no running process: config, names, records."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES
from zapora.cluster import Cluster, ClusterConfig, ClusterError
from zapora.cluster.graph import read_records
from zapora.cluster.nginx import find_nginx, nginx_command, render_config, write_config
from zapora.cluster.services import check_database_name, database_url
from zapora.config import Settings
from zapora.observability.metrics import MULTIPROCESS_DIR_VARIABLE


def test_nginx_config_passes_nginx_check(tmp_path: Path) -> None:
    try:
        nginx = find_nginx()
    except ClusterError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"{exc} (ZAPORA_TEST_REQUIRE_SERVICES is set)")
        pytest.skip(str(exc))
    config = write_config(run_dir=tmp_path, port=18080, upstream_ports=[18001, 18002])
    command = [*nginx_command(nginx, run_dir=tmp_path, config=config), "-t"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stderr


def test_nginx_config_lists_every_replica(tmp_path: Path) -> None:
    text = render_config(run_dir=tmp_path, port=18080, upstream_ports=[18001, 18002, 18003])
    assert "listen 127.0.0.1:18080;" in text
    for port in (18001, 18002, 18003):
        assert f"server 127.0.0.1:{port} " in text
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert str(tmp_path / "nginx" / "nginx.pid") in text


def test_nginx_config_needs_a_replica(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        render_config(run_dir=tmp_path, port=18080, upstream_ports=[])


def test_database_url_keeps_server_and_credentials() -> None:
    admin = "postgresql://zapora:secret@db.internal:5433/postgres?sslmode=require"
    url = database_url(admin, "zapora_cluster")
    assert (
        url == "postgresql+asyncpg://zapora:secret@db.internal:5433/zapora_cluster?sslmode=require"
    )


@pytest.mark.parametrize("name", ['bad"name', "Upper", "1starts_with_digit", "", "x" * 64])
def test_database_name_rejects_unsafe_names(name: str) -> None:
    with pytest.raises(ClusterError, match="invalid database name"):
        check_database_name(name)


def test_cluster_env_names_are_settings(tmp_path: Path) -> None:
    cluster = Cluster(ClusterConfig(run_dir=tmp_path, name="zapora_cluster_env"))
    env = cluster.zapora_env()
    known = {f"ZAPORA_{name.upper()}" for name in Settings.model_fields}
    set_by_cluster = {
        "ZAPORA_DATABASE_URL",
        "ZAPORA_REDIS_URL",
        "ZAPORA_CACHE_KEY_PREFIX",
        "ZAPORA_RATE_LIMIT_KEY_PREFIX",
        "ZAPORA_TRUSTED_PROXIES",
        "ZAPORA_RUN_WORKER_IN_PROCESS",
        "ZAPORA_WHATSAPP_API_BASE_URL",
        "ZAPORA_PUBLIC_BASE_URL",
    }
    assert set_by_cluster <= known
    assert set_by_cluster <= set(env)
    assert env["ZAPORA_DATABASE_URL"].endswith("/zapora_cluster_env")
    assert env["ZAPORA_TRUSTED_PROXIES"] == "127.0.0.1"
    assert env["ZAPORA_RUN_WORKER_IN_PROCESS"] == "false"
    assert env["ZAPORA_RATE_LIMIT_KEY_PREFIX"].startswith("zapora_cluster_env:")
    assert env[MULTIPROCESS_DIR_VARIABLE] == str(tmp_path.resolve() / "metrics")


def test_cluster_rejects_zero_replicas(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="at least one"):
        Cluster(ClusterConfig(run_dir=tmp_path, replicas=0))


def test_graph_records_skip_unfinished_line(tmp_path: Path) -> None:
    line = {
        "received_at": 1.0,
        "accepted": True,
        "phone_number_id": "100000000000001",
        "to": "5511955000001",
        "body": {"biz_opaque_callback_data": "row-1"},
        "message_id": "wamid.1",
        "error_code": None,
    }
    path = tmp_path / "graph-requests.jsonl"
    path.write_text(json.dumps(line) + "\n" + json.dumps(line)[:20])
    records = read_records(path)
    assert len(records) == 1
    assert records[0].outbox_id == "row-1"
    assert read_records(tmp_path / "missing.jsonl") == []
