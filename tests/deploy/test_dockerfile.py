"""deploy/Dockerfile and .dockerignore, checked without building the image."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from dockerfile_parse import DockerfileParser

from tests.deploy.test_compose import command, listening_port, parse_cli, services
from zapora import __version__
from zapora.observability.health import router as health_router

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPILERS = ("build-essential", "gcc", "g++", "clang", "cc ", "make ", "cmake", "cargo")


def instructions() -> list[dict[str, Any]]:
    return [
        item
        for item in DockerfileParser(str(DOCKERFILE)).structure
        if item["instruction"] != "COMMENT"
    ]


def stages() -> list[list[dict[str, Any]]]:
    """Split the instructions into stages, each starting with its FROM instruction."""
    result: list[list[dict[str, Any]]] = []
    for item in instructions():
        if item["instruction"] == "FROM":
            result.append([])
        if result:
            result[-1].append(item)
    return result


def values(stage: list[dict[str, Any]], instruction: str) -> list[str]:
    return [str(item["value"]) for item in stage if item["instruction"] == instruction]


def final_stage() -> list[dict[str, Any]]:
    return stages()[-1]


def test_base_image_is_slim_python_311() -> None:
    parser = DockerfileParser(str(DOCKERFILE))
    assert parser.is_multistage
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", parser.baseimage), parser.baseimage
    for stage in stages():
        assert values(stage, "FROM")[0].startswith("${PYTHON_IMAGE}"), values(stage, "FROM")


def test_wheel_built_in_builder_stage() -> None:
    builder = stages()[0]
    assert " AS builder" in values(builder, "FROM")[0]
    assert any("pip wheel" in run for run in values(builder, "RUN"))
    copies = values(final_stage(), "COPY")
    assert copies == ["--from=builder /opt/zapora /opt/zapora"]


def test_final_stage_has_no_compiler() -> None:
    for run in values(final_stage(), "RUN"):
        for compiler in COMPILERS:
            assert compiler not in f"{run} ", f"the runtime stage installs {compiler.strip()}"


def test_final_stage_user_is_not_root() -> None:
    users = values(final_stage(), "USER")
    assert users, "the runtime stage sets no USER, so it runs as root"
    user, _, group = users[-1].partition(":")
    assert user.isdigit(), "use a numeric uid so runAsNonRoot can verify it"
    assert int(user) != 0
    assert group != "0"
    assert user in " ".join(values(final_stage(), "RUN")), "the uid is created in the image"


def test_entrypoint_and_default_command() -> None:
    entrypoint = json.loads(values(final_stage(), "ENTRYPOINT")[-1])
    default = json.loads(values(final_stage(), "CMD")[-1])

    assert entrypoint == ["zapora"]
    assert default[0] == "serve"
    assert parse_cli(default)["host"] == "0.0.0.0"  # noqa: S104
    for name in ("api", "worker", "migrate"):
        assert services()[name]["image"] == "zapora:local"
        parse_cli(command(services()[name]))


def test_port_and_healthcheck_agree() -> None:
    envs = DockerfileParser(str(DOCKERFILE)).envs
    exposed = values(final_stage(), "EXPOSE")
    healthcheck = values(final_stage(), "HEALTHCHECK")
    health_paths = {route.path for route in health_router.routes}  # type: ignore[attr-defined]

    assert exposed == [envs["PORT"]]
    assert int(envs["PORT"]) == listening_port("api")
    assert len(healthcheck) == 1
    assert "PORT" in healthcheck[0]
    path = re.search(r"/health/\w+", healthcheck[0])
    assert path is not None
    assert path.group(0) in health_paths
    assert "/health/ready" in health_paths


def test_oci_labels() -> None:
    labels = DockerfileParser(str(DOCKERFILE)).labels
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for key in ("title", "description", "version", "revision", "created", "licenses"):
        assert f"org.opencontainers.image.{key}" in labels, key
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.licenses"] == project["license"]


def test_postgres_client_matches_server() -> None:
    runs = " ".join(values(final_stage(), "RUN"))
    client = re.search(r"postgresql-client-(\d+)", runs)
    server = re.match(r"postgres:(\d+)", services()["postgres"]["image"])
    assert client is not None
    assert server is not None
    assert client.group(1) == server.group(1)


def test_dockerignore_keeps_build_inputs() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    included = {pattern.removeprefix("!").rstrip("/") for pattern in patterns if pattern[0] == "!"}
    copied = set()
    for copy in values(stages()[0], "COPY"):
        copied.update(part.rstrip("/") for part in copy.split()[:-1])
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"]

    assert patterns[0] == "*", "start from an empty context so .venv, .git and databases stay out"
    assert copied <= included, (
        f"COPY reads files that .dockerignore leaves out: {copied - included}"
    )
    assert readme in included
