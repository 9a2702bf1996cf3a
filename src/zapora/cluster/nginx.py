"""The nginx configuration of a local cluster: one loopback port in front of every API replica."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from zapora.cluster.processes import ClusterError

# Debian installs nginx in /usr/sbin, which is not on an unprivileged user's PATH.
NGINX_FALLBACK_PATHS = (Path("/usr/sbin/nginx"), Path("/usr/local/sbin/nginx"))
# Above the proof-photo upload limit (ZAPORA_PROOF_PHOTO_MAX_BYTES plus the form framing),
# so nginx passes every body the API itself accepts.
MAX_BODY = "6m"
UPSTREAM_HEADER = "X-Zapora-Upstream"
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def find_nginx() -> str:
    """Return the path of the nginx binary, or raise ``ClusterError`` when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in NGINX_FALLBACK_PATHS:
        if candidate.is_file():
            return str(candidate)
    raise ClusterError(
        "nginx is not installed: run apt-get install -y --no-install-recommends nginx"
    )


def render_config(*, run_dir: Path, port: int, upstream_ports: Sequence[int]) -> str:
    """Return an nginx.conf that keeps its pid file, logs and temp files under ``run_dir``.

    nginx replaces any X-Forwarded-For of the client with the peer address of the
    connection, because it is the edge here. Behind another trusted proxy, use
    ``$proxy_add_x_forwarded_for`` instead.
    A replica that refuses connections is skipped for 2 s and the request goes to the next
    one. nginx does not pass a POST on once it was sent to a replica, because it may have
    taken effect there, so the client gets 502 and decides whether to send it again.
    """
    if not upstream_ports:
        raise ValueError("an nginx upstream needs at least one API replica port")
    servers = "\n".join(
        f"        server 127.0.0.1:{upstream} max_fails=1 fail_timeout=2s;"
        for upstream in upstream_ports
    )
    nginx_dir = run_dir / "nginx"
    logs = run_dir / "logs"
    temp = "\n".join(f"    {name}_temp_path {nginx_dir / name};" for name in TEMP_DIRS)
    return f"""\
worker_processes 1;
daemon off;
pid {nginx_dir / "nginx.pid"};
error_log {logs / "nginx-error.log"} warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log {logs / "nginx-access.log"};
{temp}
    client_max_body_size {MAX_BODY};
    client_body_buffer_size {MAX_BODY};
    proxy_max_temp_file_size 0;

    upstream zapora_api {{
{servers}
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port};

        location / {{
            proxy_pass http://zapora_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 3;
            add_header {UPSTREAM_HEADER} $upstream_addr always;
        }}
    }}
}}
"""


def write_config(*, run_dir: Path, port: int, upstream_ports: Sequence[int]) -> Path:
    """Write the config, create its folders and return the path of nginx.conf."""
    nginx_dir = run_dir / "nginx"
    for name in TEMP_DIRS:
        (nginx_dir / name).mkdir(parents=True, exist_ok=True)
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    path = nginx_dir / "nginx.conf"
    path.write_text(render_config(run_dir=run_dir, port=port, upstream_ports=upstream_ports))
    return path


def nginx_command(nginx: str, *, run_dir: Path, config: Path) -> list[str]:
    """Return the command that runs nginx in the foreground with ``config``.

    ``-e`` sends the messages nginx logs before it has read the config to the run folder
    instead of the system log path.
    """
    return [
        nginx,
        "-p",
        f"{run_dir / 'nginx'}/",
        "-c",
        str(config),
        "-e",
        str(run_dir / "logs" / "nginx-error.log"),
    ]
