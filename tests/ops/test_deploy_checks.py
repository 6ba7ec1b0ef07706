"""The scanners an ops team runs on deploy/, run by the suite: every rendered overlay against the
Kubernetes API schemas (kubernetes-validate) and checkov's policies (waivers only where a resource
states its reason), the Dockerfile with hadolint, the alert rules with promtool, and compose's
RabbitMQ configuration booted for real to show it imports the topology and the user."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kombu import Connection

from tests.platform.test_deploy import OVERLAYS, rendered
from tests.support.private_servers import PrivateRabbitMQ

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OBSERVABILITY = ROOT / "deploy" / "observability"
#: The Kubernetes release the manifests are checked against (the oldest one supported).
KUBERNETES_VERSION = "1.30.0"
#: Kinds of the operators the manifests use (KEDA, Prometheus Operator, RabbitMQ Cluster
#: Operator, CloudNativePG): their schemas are not in kubernetes-validate; their fields that
#: matter are checked in tests/platform/test_deploy.py.
CUSTOM_GROUPS = ("keda.sh", "monitoring.coreos.com", "rabbitmq.com", "postgresql.cnpg.io")


def _tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: make install (dev extra), or see .ci/run")
    return str(found)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_resource_matches_the_kubernetes_schema(overlay: str) -> None:
    import kubernetes_validate

    checked = 0
    for document in rendered(overlay):
        if document["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
            continue
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked > 50


def test_checkov_finds_nothing_but_the_written_waivers(tmp_path: Path) -> None:
    """One checkov run over both overlays (it takes seconds per run)."""
    for overlay in OVERLAYS:
        (tmp_path / f"{overlay}.yaml").write_text(yaml.safe_dump_all(rendered(overlay)))
    result = subprocess.run(
        [
            _tool("checkov"),
            *("--directory", str(tmp_path)),
            *("--framework", "kubernetes", "--output", "json", "--compact"),
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    waived = [check for report in reports for check in report["results"]["skipped_checks"]]
    assert waived and all(len(check["check_result"]["suppress_comment"]) > 40 for check in waived)
    assert sum(report["summary"]["passed"] for report in reports) > 1000


def test_hadolint_passes_the_dockerfile() -> None:
    result = subprocess.run(
        [_tool("hadolint"), "--failure-threshold", "info", str(ROOT / "deploy" / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_checks_the_alert_rules_and_their_unit_tests_pass() -> None:
    promtool = _tool("promtool")
    for command in (
        ["check", "rules", "casehub-alerts.yml"],
        ["test", "rules", "casehub-alerts.test.yml"],
    ):
        result = subprocess.run(
            [promtool, *command], cwd=OBSERVABILITY, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr
    tested = yaml.safe_load((OBSERVABILITY / "casehub-alerts.test.yml").read_text())
    fired = {
        case["alertname"]
        for test in tested["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    rules = yaml.safe_load((OBSERVABILITY / "casehub-alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert fired == alerts  # every alert has a test that makes it fire


def test_the_dashboard_queries_only_metrics_casehub_exposes() -> None:
    dashboard = json.loads((OBSERVABILITY / "casehub-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(expressions) >= 10 and all("casehub_" in expression for expression in expressions)


@pytest.mark.slow
def test_composes_rabbitmq_imports_the_topology_and_its_user_at_boot(tmp_path: Path) -> None:
    """The configuration compose mounts, on a real node: queues and user exist before any
    Casehub process has declared anything."""
    missing = PrivateRabbitMQ.unavailable()
    if missing:
        pytest.fail(f"this test boots a RabbitMQ node of its own: {missing}")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["rabbitmq"]
    mounts = dict(
        reversed(m.rsplit(":", 1)[0].split(":")) for m in compose["volumes"] if m.startswith("./")
    )
    config = (ROOT / mounts["/etc/rabbitmq/conf.d/20-casehub.conf"]).read_text()
    node = PrivateRabbitMQ(name="casehub-defs")
    folder = node.folder / "definitions"
    folder.mkdir()
    for target, source in mounts.items():
        if target.startswith("/etc/rabbitmq/definitions/"):
            shutil.copy(ROOT / source, folder / Path(target).name)
    config = config.replace("/etc/rabbitmq/definitions", str(folder))
    with (node.folder / "rabbitmq.conf").open("a") as conf:
        conf.write(config)
    subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(node.folder)], check=False)
    try:
        node.start()
        queues = {
            queue["name"]: queue["type"]
            for queue in json.loads(node.ctl("list_queues", "name", "type", "--formatter", "json"))
        }
        assert (
            queues["notifications.events"] == "quorum" and queues["intake.events.dlq"] == "quorum"
        )
        url = f"amqp://casehub:casehub@127.0.0.1:{node.port}//"
        with Connection(url, connect_timeout=5) as connection:
            declared = connection.default_channel.queue_declare("planning.events", passive=True)
            assert declared.message_count == 0
    finally:
        node.shutdown()
