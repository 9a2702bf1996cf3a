"""deploy/compose.yaml and its config files, checked against the application without Docker.

Every name the stack relies on (services, ports, volumes, settings, CLI options, metric
names) is compared with what the application and the other files define, so a typo on
either side fails here instead of at ``docker compose up``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import promql_parser
import pytest
import typer.main
import yaml

from zapora.cli import app as cli_app
from zapora.config import Settings
from zapora.observability.exposition import OutboxSnapshot, render_metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "zapora.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
ZAPORA_IMAGE = "zapora:local"
# Values for the variables that compose.yaml requires with ${NAME:?message}.
REQUIRED_VARIABLES = {"ZAPORA_SECRET_KEY": "compose-test-secret-key-0123456789-abcdefghij"}
# Labels that Prometheus adds to every scraped series, and the histogram bucket label.
IMPLICIT_LABELS = {"job", "instance", "le", "__name__"}
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """Expand ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` as Compose does."""

    def expand(match: re.Match[str]) -> str:
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = environ.get(name)
        if op in (":-", ":?") and not current:
            current = None
        if current is not None:
            return current
        if op is not None and op.endswith("?"):
            raise KeyError(f"{name} is required by compose.yaml: {arg}")
        return arg or ""

    return _VARIABLE.sub(expand, value).replace("$$", "$")


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    return dict(load_compose()["services"])


def zapora_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services().items() if s.get("image") == ZAPORA_IMAGE}


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """Return the service's environment with ${...} expanded. None is passed from the host."""
    raw = service.get("environment") or {}
    assert isinstance(raw, dict), "write environment as a mapping"
    return {
        str(key): None if value is None else interpolate(str(value), REQUIRED_VARIABLES)
        for key, value in raw.items()
    }


def command(service: dict[str, Any]) -> list[str]:
    raw = service.get("command") or []
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def option(arguments: list[str], name: str) -> str | None:
    if name in arguments:
        return arguments[arguments.index(name) + 1]
    return None


def healthcheck_url(service: dict[str, Any]) -> str:
    test = " ".join(str(part) for part in service["healthcheck"]["test"])
    match = re.search(r"http://[^\s'\"]+", test)
    assert match is not None, f"no URL in healthcheck {test!r}"
    return match.group(0)


def listening_port(name: str) -> int:
    """Return the TCP port the named service serves HTTP on, from its command line."""
    flag = "--metrics-port" if name == "worker" else "--port"
    port = option(command(services()[name]), flag)
    assert port is not None, f"service {name} must name its port on the command line"
    return int(port)


def test_every_service_has_healthcheck() -> None:
    all_services = services()
    for name, service in all_services.items():
        check = service.get("healthcheck")
        assert check is not None, f"service {name} has no healthcheck"
        if check.get("disable"):
            waiting = [
                other
                for other, spec in all_services.items()
                if isinstance(spec.get("depends_on"), dict) and name in spec["depends_on"]
            ]
            assert service.get("restart") == "no", f"{name} has no healthcheck: must be one-shot"
            assert waiting, f"one-shot service {name} is awaited by no service"
            for other in waiting:
                condition = all_services[other]["depends_on"][name]["condition"]
                assert condition == "service_completed_successfully", (other, name)
            continue
        test = check.get("test")
        assert isinstance(test, list), f"{name}: write the healthcheck test as a list"
        assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck {test!r}"


def test_depends_on_names_services() -> None:
    all_services = services()
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in all_services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in all_services, f"{name} depends on unknown service {dependency}"
            assert spec["condition"] in conditions, (name, dependency)
            if spec["condition"] == "service_healthy":
                assert not all_services[dependency]["healthcheck"].get("disable"), dependency


def test_api_and_worker_wait_for_migrate() -> None:
    all_services = services()
    assert command(all_services["migrate"]) == ["migrate"]
    for name in ("api", "worker"):
        migrate = all_services[name]["depends_on"]["migrate"]
        assert migrate["condition"] == "service_completed_successfully", name


def parse_cli(arguments: list[str]) -> dict[str, Any]:
    """Parse a ``zapora`` command line without running it. Raise on any usage error."""
    group = typer.main.get_command(cli_app)
    subcommand = group.commands.get(arguments[0])  # type: ignore[attr-defined]
    assert subcommand is not None, f"zapora has no command {arguments[0]!r}"
    return dict(subcommand.make_context(arguments[0], arguments[1:]).params)


def test_commands_parse_with_cli() -> None:
    for name, service in zapora_services().items():
        arguments = command(service)
        assert arguments, f"service {name} must state its command"
        parse_cli(arguments)


def test_cli_check_catches_unknown_option() -> None:
    with pytest.raises(Exception, match="No such option"):
        parse_cli(["worker", "--metrics-prot", "9100"])


def test_api_runs_two_replicas() -> None:
    assert services()["api"]["deploy"]["replicas"] == 2


def test_environment_names_are_settings_fields() -> None:
    fields = set(Settings.model_fields)
    for name, service in zapora_services().items():
        for variable in environment(service):
            if variable.startswith("ZAPORA_"):
                field = variable.removeprefix("ZAPORA_").lower()
                assert field in fields, f"{name}: {variable} is no setting in zapora.config"
    interpolated = {match.group("name") for match in _VARIABLE.finditer(COMPOSE_FILE.read_text())}
    for variable in interpolated:
        if variable.startswith("ZAPORA_"):
            assert variable.removeprefix("ZAPORA_").lower() in fields, variable


@pytest.mark.parametrize("name", sorted(zapora_services()))
def test_environment_values_parse(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in list(os.environ):
        if variable.startswith("ZAPORA_"):
            monkeypatch.delenv(variable)
    for variable, value in environment(services()[name]).items():
        if value is not None:
            monkeypatch.setenv(variable, value)

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.environment.value == "production"
    assert not settings.is_sqlite
    assert not settings.worker_in_process


def test_urls_name_services_and_ports() -> None:
    all_services = services()
    expected_ports = {"postgres": 5432, "redis": 6379, "minio": 9000, "jaeger": 4318}
    for name, service in zapora_services().items():
        env = environment(service)
        for variable in (
            "ZAPORA_DATABASE_URL",
            "ZAPORA_REDIS_URL",
            "ZAPORA_S3_ENDPOINT_URL",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ):
            value = env.get(variable)
            assert value, f"{name}: {variable} is not set"
            url = urlsplit(value)
            assert url.hostname in all_services, f"{name}: {variable} names {url.hostname}"
            assert url.port == expected_ports[url.hostname], f"{name}: {variable}={value}"


def test_api_port_matches_nginx_upstream() -> None:
    conf = NGINX_CONF.read_text()
    upstreams = dict(re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", conf))
    proxied = re.findall(r"proxy_pass\s+http://(\w+)\s*;", conf)
    assert proxied, "nginx proxies to no upstream"
    for upstream in proxied:
        servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstreams[upstream], re.MULTILINE)
        assert servers, f"upstream {upstream} has no server"
        for host, port in servers:
            assert host == "api"
            assert int(port) == listening_port("api")
    assert urlsplit(healthcheck_url(services()["api"])).port == listening_port("api")
    assert re.search(r"listen\s+8080\s*;", conf)
    assert "8080:8080" in services()["nginx"]["ports"]


def test_nginx_is_the_only_trusted_proxy() -> None:
    compose = load_compose()
    nginx_address = ipaddress.ip_address(services()["nginx"]["networks"]["backend"]["ipv4_address"])
    subnet = ipaddress.ip_network(compose["networks"]["backend"]["ipam"]["config"][0]["subnet"])
    trusted = environment(services()["api"])["ZAPORA_TRUSTED_PROXIES"]
    assert trusted is not None

    assert nginx_address in subnet
    assert [ipaddress.ip_network(entry) for entry in trusted.split(",")] == [
        ipaddress.ip_network(nginx_address)
    ]


def test_nginx_body_limit_above_application_limit() -> None:
    match = re.search(r"client_max_body_size\s+(\d+)m\s*;", NGINX_CONF.read_text())
    assert match is not None
    limit = int(match.group(1)) * 1024 * 1024
    defaults = Settings.model_fields
    assert limit > int(defaults["max_body_bytes"].default)
    if "proof_photo_max_bytes" in defaults:
        assert limit > int(defaults["proof_photo_max_bytes"].default)


def test_prometheus_targets_are_services() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    scraped: set[str] = set()
    for job in config["scrape_configs"]:
        for discovery in job.get("dns_sd_configs", []):
            assert discovery["type"] == "A"
            for name in discovery["names"]:
                assert name in services(), f"job {job['job_name']} names unknown service {name}"
                assert discovery["port"] == listening_port(name), job["job_name"]
                scraped.add(name)
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, _, port = target.partition(":")
                assert host in services() or (host, port) == ("localhost", "9090"), target
    assert scraped == {"api", "worker"}


def test_worker_healthcheck_uses_metrics_port() -> None:
    url = urlsplit(healthcheck_url(services()["worker"]))
    assert url.port == listening_port("worker")
    assert option(command(services()["worker"]), "--metrics-host") == "0.0.0.0"  # noqa: S104


def test_volumes_declared_and_files_exist() -> None:
    declared = set(load_compose().get("volumes") or {})
    used: set[str] = set()
    for name, service in services().items():
        for mount in service.get("volumes", []):
            source = str(mount).split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} mounts undeclared volume {source}"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"


def _sample_names() -> dict[str, set[str]]:
    """Map every sample name the application exposes to its metric family's label names."""
    exposition = render_metrics(OutboxSnapshot(pending=0, oldest_pending_at=None)).decode()
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gauge": ("",),
    }
    from prometheus_client import REGISTRY
    from prometheus_client.parser import text_string_to_metric_families

    label_names: dict[str, set[str]] = {}
    for collector in list(REGISTRY._collector_to_names):
        for family_name in REGISTRY._collector_to_names[collector]:
            label_names[family_name] = set(getattr(collector, "_labelnames", ()))
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        for suffix in suffixes.get(family.type, ("",)):
            sample = family.name + suffix
            names[sample] = label_names.get(sample, label_names.get(family.name, set()))
    return names


def _selectors(node: Any) -> Iterator[Any]:
    if isinstance(node, promql_parser.VectorSelector):
        yield node
        return
    for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attribute, None)
        if child is not None:
            yield from _selectors(child)
    for child in getattr(node, "args", None) or []:
        yield from _selectors(child)


def _grouping_labels(node: Any) -> Iterator[str]:
    modifier = getattr(node, "modifier", None)
    if isinstance(node, promql_parser.AggregateExpr) and modifier is not None:
        yield from modifier.labels
    for attribute in ("lhs", "rhs", "expr", "param"):
        child = getattr(node, attribute, None)
        if child is not None:
            yield from _grouping_labels(child)
    for child in getattr(node, "args", None) or []:
        yield from _grouping_labels(child)


def unknown_metric_references(expression: str, known: dict[str, set[str]]) -> list[str]:
    """List the metric and label names in a PromQL expression that the application lacks."""
    # Grafana's interval variables are not PromQL; give them a value so the query parses.
    parsed = promql_parser.parse(re.sub(r"\$__\w+", "5m", expression))
    problems: list[str] = []
    used_labels: set[str] = set(_grouping_labels(parsed))
    selected: set[str] = set()
    for selector in _selectors(parsed):
        if selector.name not in known:
            problems.append(f"metric {selector.name}")
            continue
        selected.add(selector.name)
        for matcher in selector.matchers.matchers:
            if matcher.name not in known[selector.name] | IMPLICIT_LABELS:
                problems.append(f"label {matcher.name} of {selector.name}")
    available = set().union(*(known[name] for name in selected)) if selected else set()
    for label in used_labels - available - IMPLICIT_LABELS:
        problems.append(f"grouping label {label}")
    return problems


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def test_dashboard_metrics_exist_in_registry() -> None:
    known = _sample_names()
    for expression in dashboard_expressions():
        assert unknown_metric_references(expression, known) == [], expression


def test_metric_check_catches_typos() -> None:
    known = _sample_names()
    assert unknown_metric_references("rate(zapora_http_request_total[5m])", known) == [
        "metric zapora_http_request_total"
    ]
    assert unknown_metric_references('zapora_open_orders{state="placed"}', known) == [
        "label state of zapora_open_orders"
    ]
    assert unknown_metric_references("sum by (rout) (zapora_http_requests_total)", known) == [
        "grouping label rout"
    ]


def test_dashboard_covers_required_panels() -> None:
    text = " ".join(dashboard_expressions())
    for metric in (
        "zapora_http_requests_total",
        "zapora_http_request_duration_seconds_bucket",
        "zapora_outbox_pending_messages",
        "zapora_outbox_oldest_pending_age_seconds",
        "zapora_open_orders",
        "zapora_whatsapp_sends_total",
    ):
        assert metric in text, f"the dashboard shows no {metric}"


def test_dashboard_datasource_is_provisioned() -> None:
    provisioned = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    uids = {source["uid"]: source for source in provisioned}
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        if "datasource" in panel:
            assert panel["datasource"]["uid"] in uids, panel["title"]
    prometheus = urlsplit(uids["prometheus"]["url"])
    assert prometheus.hostname == "prometheus"
    assert prometheus.port == 9090
    assert urlsplit(uids["jaeger"]["url"]).hostname == "jaeger"


def test_bucket_setup_matches_settings() -> None:
    bucket_service = environment(services()["create-bucket"])
    api = environment(services()["api"])
    policy = json.loads((DEPLOY / "minio" / "bucket-policy.json").read_text())
    resources = {resource for rule in policy["Statement"] for resource in rule["Resource"]}

    assert bucket_service["BUCKET"] == api["ZAPORA_S3_BUCKET"]
    assert bucket_service["APP_ACCESS_KEY"] == api["ZAPORA_S3_ACCESS_KEY_ID"]
    assert bucket_service["APP_SECRET_KEY"] == api["ZAPORA_S3_SECRET_ACCESS_KEY"]
    bucket = api["ZAPORA_S3_BUCKET"]
    assert resources == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
