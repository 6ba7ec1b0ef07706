"""The deployment files describe the same platform the tests run: no Docker engine or cluster is
needed to check that each service has its own database and role, probes hit real endpoints,
every container runs a `casehub` command this codebase accepts, and the crisis path is wired.
The Kubernetes overlays are rendered with `kubectl kustomize`; the scanners run in
tests/ops/test_deploy_checks.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from services.catalog import platform_topology
from services.cli import build_parser
from shared.config import SERVICE_NAMES, SERVICE_PORTS, WORKER_METRICS_PORTS, Settings
from shared.messaging.topology import rabbitmq_definitions

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("development", "production")
#: Every process the manifests run: the web app (API only) and the services (API and worker).
DEPLOYED = {
    "web": (8000, False),
    "intake": (8001, True),
    "planning": (8002, True),
    "referrals": (8003, True),
    "notifications": (8004, True),
    "reporting": (8005, True),
}
METRICS_PORT = 9090


def _runs_a_real_command(args: list[str]) -> None:
    parsed = build_parser().parse_args(args)  # raises SystemExit on anything unknown
    assert parsed.handler is not None


def _checks_command(service: str, args: list[str]) -> None:
    """Services this branch knows are parsed by the CLI; the others must follow the pattern."""
    if service in SERVICE_NAMES:
        _runs_a_real_command(args)
    else:
        assert args[1] == service, args


def _listens_on_every_interface(args: list[str]) -> None:
    """An API without --host listens on loopback only: in a container nothing would reach it."""
    host = args.index("--host")
    assert args[host + 1] == "0.0.0.0", args
    if args[1] in SERVICE_NAMES:
        assert build_parser().parse_args(args).host == "0.0.0.0"


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl renders the Kubernetes overlays (kubectl kustomize): install it")
    output = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return tuple(document for document in yaml.safe_load_all(output) if document)


def by_kind(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in rendered(overlay) if d["kind"] == kind}


# -- docker compose -------------------------------------------------------------------------------
def test_compose_runs_an_api_and_a_worker_per_service_each_with_its_own_database() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    init_sql = (ROOT / "deploy" / "postgres" / "init.sql").read_text()
    for name in SERVICE_NAMES:
        api, worker = compose[f"{name}-api"], compose[f"{name}-worker"]
        url = api["environment"][f"{name.upper()}_DATABASE_URL"]
        assert url == f"postgresql://{name}:{name}@postgres:5432/{name}"
        assert (
            f"CREATE ROLE {name} LOGIN" in init_sql
            and f"CREATE DATABASE {name} OWNER {name}" in init_sql
        )
        assert worker["environment"][f"{name.upper()}_DATABASE_URL"] == url
        other_urls = [
            k
            for k in api["environment"]
            if k.endswith("_DATABASE_URL") and k != f"{name.upper()}_DATABASE_URL"
        ]
        assert other_urls == []
        _runs_a_real_command(api["command"])
        _runs_a_real_command(worker["command"])
        _listens_on_every_interface(api["command"])
        assert worker["environment"]["CASEHUB_METRICS_HOST"] == "0.0.0.0"
        assert f"http://127.0.0.1:{SERVICE_PORTS[name]}/readyz" in " ".join(
            api["healthcheck"]["test"]
        )
        # the worker is checked on its own port: its threads are alive
        assert f"http://127.0.0.1:{WORKER_METRICS_PORTS[name]}/healthz" in " ".join(
            worker["healthcheck"]["test"]
        )
        assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
        for container in (api, worker):
            assert container["restart"] == "unless-stopped"


def test_compose_pins_every_image_and_wires_the_crisis_path() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, service in compose.items():
        image = service["image"]
        tag = image.rpartition(":")[2] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image}"
        assert service.get("restart") == "unless-stopped", name
    environment = compose["notifications-worker"]["environment"]
    for variable in (
        "NOTIFICATIONS_SMTP_HOST",
        "NOTIFICATIONS_SMTP_PORT",
        "NOTIFICATIONS_ON_CALL_EMAIL",
        "NOTIFICATIONS_INTAKE_ON_CALL_EMAIL",
        "CASEHUB_APP_URL",
        "CASEHUB_TIMEZONE",
    ):
        assert environment.get(variable), variable


def test_compose_loads_the_rabbitmq_definitions_at_boot() -> None:
    rabbitmq = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["rabbitmq"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in rabbitmq["volumes"]}
    config = (ROOT / mounts["/etc/rabbitmq/conf.d/20-casehub.conf"]).read_text()
    folder = re.search(r"^load_definitions = (\S+)$", config, re.M)
    assert folder
    loaded = {
        target: source for target, source in mounts.items() if target.startswith(folder.group(1))
    }
    assert "./deploy/rabbitmq/definitions.json" in loaded.values()
    users = json.loads((ROOT / "deploy" / "rabbitmq" / "compose-users.json").read_text())
    assert [user["name"] for user in users["users"]] == ["casehub"]  # a boot import makes none


def test_rabbitmq_definitions_match_the_topology_every_process_declares() -> None:
    shipped = json.loads((ROOT / "deploy" / "rabbitmq" / "definitions.json").read_text())
    settings = Settings.from_env("deploy", {})
    assert shipped == json.loads(json.dumps(rabbitmq_definitions(platform_topology(settings))))
    kinds = {q["name"]: q["arguments"].get("x-queue-type") for q in shipped["queues"]}
    # every queue is a quorum queue but the event archive, a stream bound to the exchange
    assert {name: kind for name, kind in kinds.items() if kind != "quorum"} == {
        "events.archive": "stream"
    }
    operator_copy = K8S / "components" / "rabbitmq-cluster" / "definitions.json"
    assert json.loads(operator_copy.read_text()) == shipped


# -- the image ----------------------------------------------------------------------------------
def test_the_image_runs_casehub_as_a_numeric_non_root_user_from_the_lock_file() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    final_stage = dockerfile.split("\nFROM ")[-1]
    assert re.search(r"^USER 10001:10001$", final_stage, re.M)
    assert 'ENTRYPOINT ["casehub"]' in final_stage
    assert "build" not in final_stage.split("\n")[0] and "gcc" not in final_stage
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
    assert not re.search(r"^FROM \S+:latest", dockerfile, re.M)
    command = json.loads(re.findall(r"^CMD (.+)$", final_stage, re.M)[-1])
    _listens_on_every_interface(command)


def test_the_lock_file_pins_every_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "deploy" / "requirements.lock").read_text()
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", lock, re.M))
    pinned = {name.lower().replace("_", "-"): version for name, version in pinned.items()}
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = requirement.name.lower().replace("_", "-")
        assert name in pinned, f"{name} is not in deploy/requirements.lock: run make lock"
        assert SpecifierSet(str(requirement.specifier)).contains(pinned[name]), (
            f"{name}=={pinned[name]} does not satisfy {requirement.specifier}: run make lock"
        )
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
    assert "psycopg-binary" in pinned and "cryptography" in pinned  # the extras' packages


# -- Kubernetes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_process_has_probes_on_real_endpoints_and_the_api_waits_for_its_schema(
    overlay: str,
) -> None:
    deployments = by_kind(overlay, "Deployment")
    jobs = by_kind(overlay, "Job")
    for name, (port, has_worker) in DEPLOYED.items():
        spec = deployments[f"{name}-api"]["spec"]["template"]["spec"]
        [api] = spec["containers"]
        _checks_command(name, api["args"])
        assert api["args"][:4] == ["api", name, "--port", str(port)]
        _listens_on_every_interface(api["args"])
        ports = {p["name"]: p["containerPort"] for p in api["ports"]}
        assert ports == {"http": port, "metrics": METRICS_PORT}
        assert api["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert api["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
        [wait] = spec["initContainers"]
        assert wait["args"][:3] == ["migrate", name, "--check"]
        _checks_command(name, wait["args"])
        [migrate_job] = [job for job_name, job in jobs.items() if job_name.startswith(f"{name}-")]
        release = by_kind(overlay, "ConfigMap")["casehub-release"]["data"]["release"]
        assert migrate_job["metadata"]["name"] == f"{name}-migrate-{release}"
        [migrate] = migrate_job["spec"]["template"]["spec"]["containers"]
        assert migrate["args"] == ["migrate", name]
        if has_worker:
            [worker] = deployments[f"{name}-worker"]["spec"]["template"]["spec"]["containers"]
            _checks_command(name, worker["args"])
            assert worker["ports"] == [{"name": "metrics", "containerPort": METRICS_PORT}]
            for probe, path in (
                ("startup", "/healthz"),
                ("readiness", "/readyz"),
                ("liveness", "/healthz"),
            ):
                assert worker[f"{probe}Probe"]["httpGet"] == {"path": path, "port": "metrics"}
        else:
            assert f"{name}-worker" not in deployments


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_is_locked_down_and_references_its_secrets(overlay: str) -> None:
    config = next(
        d
        for d in rendered(overlay)
        if d["kind"] == "ConfigMap" and "CASEHUB_METRICS_PORT" in d.get("data", {})
    )["data"]
    assert config["CASEHUB_METRICS_PORT"] == str(METRICS_PORT)
    assert config["CASEHUB_METRICS_HOST"] == "0.0.0.0"  # the workers' probes and scrapes
    for variable in (
        "NOTIFICATIONS_SMTP_HOST",
        "NOTIFICATIONS_SMTP_TLS",
        "NOTIFICATIONS_ON_CALL_EMAIL",
        "NOTIFICATIONS_INTAKE_ON_CALL_EMAIL",
        "CASEHUB_APP_URL",
        "CASEHUB_TIMEZONE",
    ):
        assert config[variable], variable
    workloads = [*by_kind(overlay, "Deployment").values(), *by_kind(overlay, "Job").values()]
    assert len(workloads) == 6 * 2 + 5  # an API and a Job per service, a worker but for web
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        label = workload["metadata"]["name"]
        assert pod["automountServiceAccountToken"] is False, label
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] >= 10000
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        mounted = {volume["name"]: volume for volume in pod["volumes"]}
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, label
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert "emptyDir" in mounted["tmp"]  # gunicorn and the metrics files write here
            assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/tmp"}
            for variable in container.get("env", []):
                assert "value" not in variable, f"{label}: {variable['name']} inlined"
                assert "secretKeyRef" in variable["valueFrom"]
            if workload["kind"] == "Deployment":
                assert pod["topologySpreadConstraints"]
    secrets = {
        variable["valueFrom"]["secretKeyRef"]["name"]
        for workload in workloads
        for container in workload["spec"]["template"]["spec"]["containers"]
        for variable in container.get("env", [])
    }
    # casehub-encryption: the keys of intake's and planning's notes encrypted at rest
    assert secrets == {
        "casehub-broker",
        "casehub-smtp",
        "casehub-web-oidc",
        "casehub-encryption",
    } | {f"casehub-{name}-db" for name in DEPLOYED}
    assert not by_kind(overlay, "Secret")  # referenced, never shipped
    budgets = by_kind(overlay, "PodDisruptionBudget")
    for name in by_kind(overlay, "Deployment"):
        assert budgets[name]["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_reaches_only_its_database_and_the_broker_and_web_only_the_apis(
    overlay: str,
) -> None:
    policies = by_kind(overlay, "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }

    def destinations(policy: str) -> list[dict[str, Any]]:
        return [peer for rule in policies[policy]["spec"]["egress"] for peer in rule.get("to", [])]

    for name, (_port, has_worker) in DEPLOYED.items():
        for process in ("api", "worker") if has_worker else ("api",):
            peers = destinations(f"{name}-{process}")
            poolers = [
                p["podSelector"]["matchLabels"]["cnpg.io/poolerName"]
                for p in peers
                if "cnpg.io/poolerName" in p.get("podSelector", {}).get("matchLabels", {})
            ]
            assert poolers == [f"{name}-db-pooler"], (name, process, poolers)
            reaches_apis = any(
                p.get("podSelector", {}).get("matchLabels", {}).get("casehub.io/role") == "api"
                for p in peers
            )
            assert reaches_apis == (name == "web" and process == "api")
            reaches_broker = any(
                p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                == "casehub-rabbitmq"
                for p in peers
            )
            assert reaches_broker == (name != "web")
        pooler = policies[f"{name}-db-pooler"]["spec"]["ingress"][0]["from"][0]["podSelector"]
        assert pooler["matchExpressions"][0]["values"] == [
            f"{name}-api",
            f"{name}-worker",
            f"{name}-migrate",
        ]
    ingress = by_kind(overlay, "Ingress")["casehub"]["spec"]
    assert ingress["tls"] and {rule["host"] for rule in ingress["rules"]} <= set(
        ingress["tls"][0]["hosts"]
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_scale_on_their_queue_and_the_outbox_and_apis_on_cpu(overlay: str) -> None:
    topology = platform_topology(Settings.from_env("deploy", {}))
    scaled = by_kind(overlay, "ScaledObject")
    hpas = by_kind(overlay, "HorizontalPodAutoscaler")
    deployments = by_kind(overlay, "Deployment")
    for name, (_port, has_worker) in DEPLOYED.items():
        assert hpas[f"{name}-api"]["spec"]["scaleTargetRef"]["name"] in deployments
        if not has_worker:
            continue
        spec = scaled[f"{name}-worker"]["spec"]
        assert spec["scaleTargetRef"]["name"] == f"{name}-worker"
        triggers = {trigger["type"]: trigger for trigger in spec["triggers"]}
        queue = triggers["rabbitmq"]["metadata"]["queueName"]
        if name in SERVICE_NAMES:
            assert queue == topology.queue_name(name)
        assert f'service="{name}"' in triggers["prometheus"]["metadata"]["query"]
        assert "casehub_outbox_pending" in triggers["prometheus"]["metadata"]["query"]


def test_production_runs_replicated_engines_pinned_by_digest_with_backups() -> None:
    rabbitmq = by_kind("production", "RabbitmqCluster")["casehub-rabbitmq"]["spec"]
    assert rabbitmq["replicas"] == 3
    assert (
        "load_definitions = /etc/rabbitmq/definitions" in rabbitmq["rabbitmq"]["additionalConfig"]
    )
    postgres = by_kind("production", "Cluster")["casehub-db"]["spec"]
    assert postgres["instances"] == 3
    assert postgres["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://")
    assert by_kind("production", "ScheduledBackup")
    poolers = by_kind("production", "Pooler")
    assert set(poolers) == {f"{name}-db-pooler" for name in DEPLOYED}
    assert {p["spec"]["pgbouncer"]["poolMode"] for p in poolers.values()} == {"session"}
    roles = {role["name"] for role in postgres["managed"]["roles"]}
    assert roles == set(DEPLOYED)
    databases = {
        d["spec"]["name"]: d["spec"]["owner"] for d in by_kind("production", "Database").values()
    }
    assert databases == {name: name for name in DEPLOYED}

    def images(overlay: str) -> set[str]:
        return {
            container["image"]
            for kind in ("Deployment", "Job")
            for workload in by_kind(overlay, kind).values()
            for container in [
                *workload["spec"]["template"]["spec"]["containers"],
                *workload["spec"]["template"]["spec"].get("initContainers", []),
            ]
        }

    [production] = images("production")
    assert re.fullmatch(r"\S+@sha256:[0-9a-f]{64}", production)
    [development] = images("development")
    assert re.fullmatch(r"casehub:\S+", development) and not development.endswith(":latest")
    assert by_kind("development", "RabbitmqCluster")["casehub-rabbitmq"]["spec"]["replicas"] == 1


def test_the_prometheus_rule_loads_the_same_alerts_promtool_checks() -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "observability" / "casehub-alerts.yml").read_text())
    for overlay in OVERLAYS:
        assert by_kind(overlay, "PrometheusRule")["casehub"]["spec"]["groups"] == rules["groups"]
        monitor = by_kind(overlay, "ServiceMonitor")["casehub"]["spec"]
        assert monitor["endpoints"][0]["port"] == "metrics"
        scraped = [
            service
            for service in by_kind(overlay, "Service").values()
            if service["metadata"].get("labels", {}).get("casehub.io/metrics") == "true"
        ]
        assert len(scraped) == 6 + 5  # every API and every worker


def _name(requirement: str) -> str:
    return Requirement(requirement).name.lower().replace("_", "-")


def test_the_image_carries_no_development_dependency() -> None:
    """The mail catcher of ``casehub dev`` (aiosmtpd) and the test tools are a development extra:
    the image installs the package without extras, from a lock file of the runtime dependencies
    only, so it does not ship an SMTP server nobody runs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    development = {_name(r) for r in project["optional-dependencies"]["dev"]}
    assert "aiosmtpd" not in {_name(r) for r in project["dependencies"]}
    assert "aiosmtpd" in development
    lock = (ROOT / "deploy" / "requirements.lock").read_text()
    locked = {
        match[1].lower().replace("_", "-"): match[0]
        for match in re.finditer(r"^([A-Za-z0-9_.-]+)==.*?(?=^[A-Za-z0-9]|\Z)", lock, re.M | re.S)
    }
    assert "aiosmtpd" not in locked
    # A development package is in the image only as some runtime dependency's own dependency
    # (requests, for the OTLP exporter), never because the lock was made with the dev extra.
    for name in development & set(locked):
        assert "casehub (pyproject.toml)" not in locked[name], f"{name} locked for the dev extra"
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"pip install [^\n]*--no-deps --no-build-isolation \.[ \n]", dockerfile)
    assert "[dev]" not in dockerfile and "aiosmtpd" not in dockerfile
