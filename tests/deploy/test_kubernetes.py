"""Tests of the Kubernetes manifests, checked offline against the Kubernetes schemas and
against the properties that keep a rollout safe.

Both the base and the example production overlay are rendered with ``kubectl kustomize``. The
overlay is rendered from a copy whose ``secrets.env`` is made from ``secrets.env.example``.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml
from typer.main import get_command

from tests.conftest import TEST_SECRET_KEY, _unavailable
from zapora.app import create_app
from zapora.cli import app as cli_app
from zapora.config import Settings

KUBERNETES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
OVERLAY = Path("overlays") / "production"
# The oldest Kubernetes minor version the manifests claim to support, and the newest one
# whose schemas kubernetes-validate bundles.
SCHEMA_VERSIONS = ("1.30", kubernetes_validate.latest_version())
# With a read-only root filesystem, temporary files need a writable volume here.
TMP_MOUNT = "/tmp"  # noqa: S108
# Variables read by something other than Settings: OpenTelemetry and the backup script.
OTHER_VARIABLES = {"BACKUP_KEEP_DAYS"}
OTHER_PREFIXES = ("OTEL_",)
# Step 2 of a release applies every object whose component label is not one of these.
COMPONENT_LABEL = "app.kubernetes.io/component"
ROLLOUT_COMPONENTS = {"api", "worker"}
# kustomize appends "-" and a 10-character content hash to generated ConfigMaps and Secrets.
GENERATED_SUFFIX = re.compile(r"-[a-z0-9]{10}$")

Object = dict[str, Any]


@dataclass
class Manifests:
    label: str
    objects: list[Object]

    def of_kind(self, kind: str) -> list[Object]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> Object:
        """Return the object of this kind whose name, without a generated hash, is ``name``."""
        for obj in self.of_kind(kind):
            if GENERATED_SUFFIX.sub("", obj["metadata"]["name"]) == name:
                return obj
        raise AssertionError(f"{self.label}: no {kind} named {name}")

    def names(self, kind: str) -> set[str]:
        return {obj["metadata"]["name"] for obj in self.of_kind(kind)}

    def workloads(self) -> Iterator[tuple[Object, Object]]:
        """Yield each workload with its pod spec."""
        for obj in self.objects:
            if obj["kind"] in ("Deployment", "Job"):
                yield obj, obj["spec"]["template"]["spec"]
            elif obj["kind"] == "CronJob":
                yield obj, obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]

    def containers(self) -> Iterator[tuple[str, Object]]:
        for obj, pod in self.workloads():
            for container in pod.get("initContainers", []) + pod["containers"]:
                yield f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}", container


def _kubectl() -> str:
    executable = shutil.which("kubectl")
    if executable is None:
        _unavailable("kubectl is not on PATH; install it to render the kustomize manifests")
    assert executable is not None, "_unavailable skips or fails the test"
    return executable


def _render(directory: Path, label: str) -> Manifests:
    result = subprocess.run(  # noqa: S603
        [_kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return Manifests(label, [doc for doc in yaml.safe_load_all(result.stdout) if doc])


def _env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


@pytest.fixture(scope="module")
def base() -> Manifests:
    return _render(KUBERNETES_DIR / "base", "base")


@pytest.fixture(scope="module")
def overlay(tmp_path_factory: pytest.TempPathFactory) -> Manifests:
    copied = tmp_path_factory.mktemp("kubernetes") / "kubernetes"
    shutil.copytree(KUBERNETES_DIR, copied, ignore=shutil.ignore_patterns("secrets.env"))
    secrets = _env_file(copied / OVERLAY / "secrets.env.example")
    # A key that production accepts; the example's placeholder is rejected on purpose.
    secrets["ZAPORA_SECRET_KEY"] = TEST_SECRET_KEY
    lines = [f"{name}={value}" for name, value in secrets.items()]
    (copied / OVERLAY / "secrets.env").write_text("\n".join(lines) + "\n")
    return _render(copied / OVERLAY, "overlay")


@pytest.fixture(params=["base", "overlay"])
def manifests(request: pytest.FixtureRequest) -> Manifests:
    rendered: Manifests = request.getfixturevalue(request.param)
    return rendered


@pytest.fixture(scope="module")
async def app_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    database = tmp_path_factory.mktemp("probes") / "zapora.db"
    application = create_app(Settings(sqlite_path=database))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://zapora.test") as client:
        yield client
    await application.state.engine.dispose()


def _settings_variables() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    return {prefix + name.upper() for name in Settings.model_fields}


def _decoded_secret(secret: Object) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def _settings_from(manifests: Manifests, monkeypatch: pytest.MonkeyPatch) -> Settings:
    values = dict(manifests.get("ConfigMap", "zapora-settings")["data"])
    values.update(_decoded_secret(manifests.get("Secret", "zapora-secrets")))
    for name in list(os.environ):
        if name.startswith("ZAPORA_"):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_objects_match_kubernetes_schemas(manifests: Manifests) -> None:
    failures = []
    for obj in manifests.objects:
        for version in SCHEMA_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(part) for part in exc.path)
                name = f"{obj['kind']}/{obj['metadata']['name']}"
                failures.append(f"{name} against {version}: {path}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_schema_check_rejects_unknown_field(base: Manifests) -> None:
    deployment = copy.deepcopy(base.get("Deployment", "zapora-api"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, SCHEMA_VERSIONS[0], strict=True)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("Deployment", "zapora-api"),
        ("Deployment", "zapora-worker"),
        ("HorizontalPodAutoscaler", "zapora-api"),
        ("HorizontalPodAutoscaler", "zapora-worker"),
        ("PodDisruptionBudget", "zapora-api"),
        ("PodDisruptionBudget", "zapora-worker"),
        ("Job", "zapora-migrate"),
        ("CronJob", "zapora-backup"),
        ("PersistentVolumeClaim", "zapora-backups"),
        ("Service", "zapora-api"),
        ("Ingress", "zapora-api"),
        ("ConfigMap", "zapora-settings"),
        ("Secret", "zapora-secrets"),
        ("NetworkPolicy", "zapora-default-deny"),
        ("NetworkPolicy", "zapora-api-ingress"),
        ("NetworkPolicy", "zapora-worker-ingress"),
        ("NetworkPolicy", "zapora-egress"),
    ],
)
def test_object_is_rendered(manifests: Manifests, kind: str, name: str) -> None:
    manifests.get(kind, name)


def test_deployments_roll_one_pod_at_a_time(manifests: Manifests) -> None:
    for deployment in manifests.of_kind("Deployment"):
        strategy = deployment["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate", deployment["metadata"]["name"]
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0, deployment["metadata"]["name"]
        assert strategy["rollingUpdate"]["maxSurge"] == 1, deployment["metadata"]["name"]


def test_autoscalers_target_cpu_70(manifests: Manifests) -> None:
    deployments = manifests.names("Deployment")
    autoscaled = set()
    for hpa in manifests.of_kind("HorizontalPodAutoscaler"):
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        assert target["name"] in deployments
        autoscaled.add(target["name"])
        [metric] = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert autoscaled == deployments
    for deployment in manifests.of_kind("Deployment"):
        # A replicas field would reset the autoscaler's choice on every apply.
        assert "replicas" not in deployment["spec"], deployment["metadata"]["name"]


def test_disruption_budgets_select_deployment_pods(manifests: Manifests) -> None:
    selectors = {
        budget["metadata"]["name"]: budget["spec"]["selector"]["matchLabels"]
        for budget in manifests.of_kind("PodDisruptionBudget")
    }
    for deployment in manifests.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        assert selectors[name] == deployment["spec"]["selector"]["matchLabels"]


async def test_api_probes_use_app_routes(
    manifests: Manifests, app_client: httpx.AsyncClient
) -> None:
    container = manifests.get("Deployment", "zapora-api")["spec"]["template"]["spec"]["containers"][
        0
    ]
    port_names = {port["name"] for port in container["ports"]}
    expected = {
        "readinessProbe": "/health/ready",
        "livenessProbe": "/health/live",
        "startupProbe": "/health/live",
    }
    for probe, path in expected.items():
        assert container[probe]["httpGet"]["path"] == path
        assert container[probe]["httpGet"]["port"] in port_names
        response = await app_client.get(path)
        assert response.status_code != 404, path


@pytest.mark.parametrize("name", ["zapora-api", "zapora-worker"])
def test_scrape_annotations_name_container_port(manifests: Manifests, name: str) -> None:
    template = manifests.get("Deployment", name)["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    ports = [port["containerPort"] for port in template["spec"]["containers"][0]["ports"]]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) in ports
    assert annotations["prometheus.io/path"] == "/metrics"


async def test_api_serves_metrics_route(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/metrics")
    assert response.status_code == 200
    assert "zapora_http_requests_total" in response.text


def test_every_container_sets_resources(manifests: Manifests) -> None:
    for label, container in manifests.containers():
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, f"{label} {bound}"


def test_pods_run_restricted(manifests: Manifests) -> None:
    for workload, pod in manifests.workloads():
        label = workload["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, label
        assert pod["securityContext"]["runAsUser"] > 0, label
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, label
        assert pod["automountServiceAccountToken"] is False, label
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, label
            assert context["readOnlyRootFilesystem"] is True, label
            assert context["capabilities"] == {"drop": ["ALL"]}, label
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts[TMP_MOUNT]], label


def test_settings_variables_are_settings_fields(manifests: Manifests) -> None:
    known = _settings_variables()
    names = set(manifests.get("ConfigMap", "zapora-settings")["data"])
    names |= set(manifests.get("Secret", "zapora-secrets")["data"])
    for _, container in manifests.containers():
        names |= {variable["name"] for variable in container.get("env", [])}
    for name in sorted(names):
        if name.startswith("ZAPORA_"):
            assert name in known, f"{name} is not a Settings field"
        else:
            assert name in OTHER_VARIABLES or name.startswith(OTHER_PREFIXES), name


def test_secret_example_names_settings_fields() -> None:
    example = _env_file(KUBERNETES_DIR / OVERLAY / "secrets.env.example")
    assert set(example) <= _settings_variables()
    assert set(example) >= {"ZAPORA_DATABASE_URL", "ZAPORA_SECRET_KEY"}


def test_overlay_settings_are_valid(overlay: Manifests, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings_from(overlay, monkeypatch)
    assert settings.environment.value == "production"
    assert not settings.is_sqlite
    assert settings.worker_in_process is False


def test_base_placeholder_secret_is_rejected(
    base: Manifests, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="ZAPORA_SECRET_KEY"):
        _settings_from(base, monkeypatch)


def test_env_sources_exist(manifests: Manifests) -> None:
    config_maps = manifests.names("ConfigMap")
    secrets = manifests.names("Secret")
    for label, container in manifests.containers():
        for source in container["envFrom"]:
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps, label
            else:
                assert source["secretRef"]["name"] in secrets, label


def test_grace_period_covers_shutdown(manifests: Manifests) -> None:
    settings = manifests.get("ConfigMap", "zapora-settings")["data"]
    shutdown = float(settings["ZAPORA_SHUTDOWN_DELAY_SECONDS"]) + float(
        settings["ZAPORA_SHUTDOWN_TIMEOUT_SECONDS"]
    )
    pod = manifests.get("Deployment", "zapora-api")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > shutdown
    worker = manifests.get("Deployment", "zapora-worker")["spec"]["template"]["spec"]
    lease = Settings.model_fields["outbox_lease_seconds"].default
    assert worker["terminationGracePeriodSeconds"] > lease


def _zapora_invocations(command: list[str]) -> list[list[str]]:
    """Return the arguments of each ``zapora`` call in a container command or shell script."""
    if command[0] == "zapora":
        return [command[1:]]
    calls = []
    for line in command[-1].splitlines():
        words = shlex.split(line.rstrip("\\"))
        if words and words[0] == "zapora":
            calls.append(words[1:])
    return calls


def test_commands_are_cli_commands(manifests: Manifests) -> None:
    group = get_command(cli_app)
    for label, container in manifests.containers():
        invocations = _zapora_invocations(container["command"])
        assert invocations, f"{label} runs no zapora command"
        for arguments in invocations:
            subcommand = group.commands.get(arguments[0])  # type: ignore[attr-defined]
            assert subcommand is not None, f"{label}: no command 'zapora {arguments[0]}'"
            options = {opt for param in subcommand.params for opt in param.opts}
            for argument in arguments[1:]:
                if argument.startswith("--"):
                    assert argument in options, (
                        f"{label}: 'zapora {arguments[0]}' has no {argument}"
                    )


def test_migration_phase_has_what_job_needs(overlay: Manifests) -> None:
    """The objects applied before the rollout (docs/kubernetes.md, step 2) run the Job alone."""
    phase = [
        obj
        for obj in overlay.objects
        if obj["metadata"].get("labels", {}).get(COMPONENT_LABEL) not in ROLLOUT_COMPONENTS
    ]
    phase_names = {(obj["kind"], obj["metadata"]["name"]) for obj in phase}
    assert not [obj for obj in phase if obj["kind"] == "Deployment"]
    assert ("Namespace", "zapora") in phase_names
    job = overlay.get("Job", "zapora-migrate")
    assert ("Job", job["metadata"]["name"]) in phase_names
    pod = job["spec"]["template"]
    assert ("ServiceAccount", pod["spec"]["serviceAccountName"]) in phase_names
    for source in pod["spec"]["containers"][0]["envFrom"]:
        if "configMapRef" in source:
            assert ("ConfigMap", source["configMapRef"]["name"]) in phase_names
        else:
            assert ("Secret", source["secretRef"]["name"]) in phase_names
    pod_labels = pod["metadata"]["labels"].items()
    for policy in overlay.of_kind("NetworkPolicy"):
        selected = policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels
        if selected and "Egress" in policy["spec"]["policyTypes"]:
            assert ("NetworkPolicy", policy["metadata"]["name"]) in phase_names


def test_migrate_job_runs_migrate(manifests: Manifests) -> None:
    job = manifests.get("Job", "zapora-migrate")
    pod = job["spec"]["template"]["spec"]
    assert job["spec"]["parallelism"] == 1
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["command"] == ["zapora", "migrate"]
    api = manifests.get("Deployment", "zapora-api")["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == api["containers"][0]["image"]


def test_backup_cronjob_writes_to_volume(manifests: Manifests) -> None:
    cronjob = manifests.get("CronJob", "zapora-backup")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert "zapora backup --output" in container["command"][-1]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    claim = volumes[mounts["/backups"]]["persistentVolumeClaim"]["claimName"]
    assert claim in manifests.names("PersistentVolumeClaim")


def _expand_like_kubernetes(text: str, env: dict[str, str]) -> str:
    """Apply the kubelet's expansion of command and args: $$ is a literal $, $(NAME) a value."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", replace, text)


def test_backup_script_keeps_recent_dumps(base: Manifests, tmp_path: Path) -> None:
    template = base.get("CronJob", "zapora-backup")["spec"]["jobTemplate"]["spec"]["template"]
    [container] = template["spec"]["containers"]
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    keep_days = int(env["BACKUP_KEEP_DAYS"])

    backups = tmp_path / "backups"
    backups.mkdir()
    expired = backups / "zapora-20200101T000000Z.dump"
    expired.write_bytes(b"expired")
    os.utime(expired, (0, 0))
    recent = backups / "zapora-20200102T000000Z.dump"
    recent.write_bytes(b"recent")
    recent_time = time.time() - (keep_days - 1) * 86400
    os.utime(recent, (recent_time, recent_time))

    bin_dir = Path(sys.executable).parent
    variables = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "ZAPORA_SQLITE_PATH": str(tmp_path / "zapora.db"),
        **env,
    }
    migrate = subprocess.run(  # noqa: S603
        [str(bin_dir / "zapora"), "migrate"],
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr

    script = _expand_like_kubernetes(container["command"][-1], env)
    script = script.replace("/backups", str(backups))
    shell = [*container["command"][:-1], script]
    result = subprocess.run(  # noqa: S603
        shell, env=variables, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr

    assert not expired.exists()
    assert recent.exists()
    written = [path for path in backups.iterdir() if path != recent]
    assert len(written) == 1, written
    assert re.fullmatch(r"zapora-\d{8}T\d{6}Z\.dump", written[0].name)
    assert written[0].stat().st_size > 0


def test_service_and_ingress_reach_api(manifests: Manifests) -> None:
    deployment = manifests.get("Deployment", "zapora-api")
    service = manifests.get("Service", "zapora-api")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    container_ports = {
        p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    }
    service_ports = {port["name"] for port in service["spec"]["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= container_ports
    ingress = manifests.get("Ingress", "zapora-api")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in service_ports


async def test_ingress_has_tls_and_hides_internal_routes(
    manifests: Manifests, app_client: httpx.AsyncClient
) -> None:
    ingress = manifests.get("Ingress", "zapora-api")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    tls_hosts = {host for entry in ingress["spec"]["tls"] for host in entry["hosts"]}
    assert all(entry["secretName"] for entry in ingress["spec"]["tls"])
    schema = (await app_client.get("/openapi.json")).json()
    public_paths = set(schema["paths"]) | {"/openapi.json"}
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts
        for path in rule["http"]["paths"]:
            prefix = path["path"].rstrip("/") + "/"
            for internal in ("/metrics", "/health/ready"):
                assert not internal.startswith(prefix), f"{path['path']} exposes {internal}"
            matched = [p for p in public_paths if p == path["path"] or p.startswith(prefix)]
            assert matched or path["path"] == "/docs", f"{path['path']} routes to no API path"


def test_network_policies_allow_required_traffic(manifests: Manifests) -> None:
    deny = manifests.get("NetworkPolicy", "zapora-default-deny")["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    for workload, pod_template in manifests.workloads():
        labels = _pod_labels(workload)
        assert deny["podSelector"]["matchLabels"].items() <= labels.items(), pod_template

    api = manifests.get("NetworkPolicy", "zapora-api-ingress")["spec"]
    sources = [peer for rule in api["ingress"] for peer in rule["from"]]
    namespaces = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in sources
    }
    assert namespaces == {"ingress-nginx", "monitoring"}
    ports = {port["port"] for rule in api["ingress"] for port in rule["ports"]}
    assert ports == {8000}

    worker = manifests.get("NetworkPolicy", "zapora-worker-ingress")["spec"]
    [worker_rule] = worker["ingress"]
    assert [port["port"] for port in worker_rule["ports"]] == [9100]
    [scraper] = worker_rule["from"]
    assert scraper["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}

    egress = manifests.get("NetworkPolicy", "zapora-egress")["spec"]["egress"]
    allowed = {(port["protocol"], port["port"]) for rule in egress for port in rule["ports"]}
    assert {("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 443)} <= allowed


def _pod_labels(workload: Object) -> dict[str, str]:
    if workload["kind"] == "CronJob":
        return dict(workload["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"])
    return dict(workload["spec"]["template"]["metadata"]["labels"])


def test_overlay_pins_one_image(overlay: Manifests) -> None:
    images = {container["image"] for _, container in overlay.containers()}
    assert len(images) == 1, images
    [image] = images
    name, _, tag = image.rpartition(":")
    assert name == "registry.example.com/zapora/zapora"
    assert tag not in ("", "latest")


def test_overlay_sets_namespace(overlay: Manifests) -> None:
    for obj in overlay.objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "zapora", obj["metadata"]["name"]
