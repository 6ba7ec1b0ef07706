"""The deployment files describe the same platform the tests run: no Docker engine is needed to
check that each service has its own database and role, probes hit real endpoints, and every
container runs a `casehub` command this codebase accepts."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from services.catalog import platform_topology
from services.cli import build_parser
from shared.config import SERVICE_NAMES, SERVICE_PORTS, Settings
from shared.messaging.topology import rabbitmq_definitions

ROOT = Path(__file__).resolve().parents[2]


def _runs_a_real_command(args: list[str]) -> None:
    parsed = build_parser().parse_args(args)  # raises SystemExit on anything unknown
    assert parsed.handler is not None


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
        assert f"http://127.0.0.1:{SERVICE_PORTS[name]}/readyz" in " ".join(
            api["healthcheck"]["test"]
        )
        assert api["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_kubernetes_manifests_probe_real_endpoints_and_reference_secrets() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "k8s" / "casehub.yaml").read_text()))
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in documents}
    for name in SERVICE_NAMES:
        port = SERVICE_PORTS[name]
        [api] = by_name[("Deployment", f"{name}-api")]["spec"]["template"]["spec"]["containers"]
        assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
        assert all("valueFrom" in variable and "value" not in variable for variable in api["env"])
        _runs_a_real_command(api["args"])
        [worker] = by_name[("Deployment", f"{name}-worker")]["spec"]["template"]["spec"][
            "containers"
        ]
        _runs_a_real_command(worker["args"])
        [migrate] = by_name[("Job", f"{name}-migrate")]["spec"]["template"]["spec"]["containers"]
        assert migrate["args"] == ["migrate", name]
        assert (
            by_name[("HorizontalPodAutoscaler", f"{name}-api")]["spec"]["scaleTargetRef"]["name"]
            == f"{name}-api"
        )
        assert by_name[("Service", f"{name}-api")]["spec"]["ports"][0]["port"] == port
        for container in (api, worker, migrate):
            assert container["resources"]["requests"]


def test_rabbitmq_definitions_match_the_topology_every_process_declares() -> None:
    shipped = json.loads((ROOT / "deploy" / "rabbitmq" / "definitions.json").read_text())
    settings = Settings.from_env("deploy", {})
    assert shipped == json.loads(json.dumps(rabbitmq_definitions(platform_topology(settings))))
    quorum = [q for q in shipped["queues"] if q["arguments"].get("x-queue-type") == "quorum"]
    assert len(quorum) == len(shipped["queues"])


def test_the_image_runs_casehub_as_a_non_root_user_without_build_tools() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    final_stage = dockerfile.split("\nFROM ")[-1]
    assert "USER casehub" in final_stage and 'ENTRYPOINT ["casehub"]' in final_stage
    assert "build" not in final_stage.split("\n")[0] and "gcc" not in final_stage


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def test_the_image_carries_no_development_dependency() -> None:
    """The mail catcher of ``casehub dev`` (aiosmtpd) is a development extra: the image installs
    the package without extras, so it does not ship an SMTP server nobody runs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "aiosmtpd" not in {_name(r) for r in project["dependencies"]}
    assert "aiosmtpd" in {_name(r) for r in project["optional-dependencies"]["dev"]}
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip wheel --no-cache-dir --wheel-dir /wheels .\n" in dockerfile
    assert "[dev]" not in dockerfile and "aiosmtpd" not in dockerfile
