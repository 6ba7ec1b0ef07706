"""The public development secret never serves the network. ``casehub api`` listens on 127.0.0.1
unless told otherwise, and refuses to start on any other address with the development secret or
an HS256 secret under 32 bytes, whatever the backends (before: ``casehub api intake`` with no
configuration listened on 0.0.0.0 and accepted admin tokens anyone could sign). The image's
default command, compose and the Kubernetes manifests listen on every interface of their
container, so each needs a real key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from shared.config import SERVICE_NAMES, Settings
from shared.web.auth import mint_token
from tests.platform.test_deploy import OVERLAYS, rendered
from tests.support.listening import listening_addresses
from tests.support.platform import wait_until
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
EXPOSED_HOSTS = ("0.0.0.0", "::", "10.1.2.3", "casehub.internal")
DEPLOYED = {
    "INTAKE_DATABASE_URL": "postgresql://casehub@127.0.0.1:1/intake",
    "CASEHUB_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//",
}


def _environment(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This machine's environment without any Casehub configuration: the embedded default."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CASEHUB_", "INTAKE_", "PLANNING_", "REFERRALS_", "NOTIFICATIONS_"))
    }
    return {**environment, "CASEHUB_DATA_DIR": str(data_dir), **(extra or {})}


def _casehub(
    *args: str, data_dir: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``casehub`` as a user runs it; a refusal comes before anything is served or migrated."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=_environment(data_dir, extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("host", EXPOSED_HOSTS)
def test_the_development_secret_is_refused_on_any_address_but_loopback(
    data_dir: Path, host: str
) -> None:
    refused = _casehub("api", "intake", "--host", host, data_dir=data_dir)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "refusing to start" in refused.stderr
    assert "development secret is public" in refused.stderr and host in refused.stderr
    assert not (data_dir / "intake.db").exists()  # refused before migrating anything


@pytest.mark.parametrize("backends", ["embedded default", "PostgreSQL and RabbitMQ"])
def test_a_short_secret_is_refused_on_the_network_whatever_the_backends(
    data_dir: Path, backends: str
) -> None:
    extra = {"CASEHUB_JWT_SECRET": "s" * 31, **(DEPLOYED if backends != "embedded default" else {})}
    refused = _casehub("api", "intake", "--host", "0.0.0.0", data_dir=data_dir, extra=extra)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "shorter than 32 bytes" in refused.stderr and "0.0.0.0" in refused.stderr
    assert "s" * 31 not in refused.stdout + refused.stderr


def test_the_images_default_command_refuses_the_development_secret(data_dir: Path) -> None:
    """``docker run casehub`` with no configuration: refused, not an admin API for anyone."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    [cmd] = [line for line in dockerfile.splitlines() if line.startswith("CMD ")]
    command = json.loads(cmd.removeprefix("CMD "))
    refused = _casehub(*command, data_dir=data_dir)
    assert refused.returncode == 2 and "refusing to start" in refused.stderr, refused.stderr


def test_a_real_key_may_serve_the_network(data_dir: Path) -> None:
    base = {"CASEHUB_DATA_DIR": str(data_dir)}
    for extra in (
        {"CASEHUB_JWT_SECRET": "k" * 32},
        {"CASEHUB_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----"},
        {"CASEHUB_JWT_JWKS_URL": "https://idp.example/jwks"},
    ):
        for environment in ({**base, **extra}, {**base, **DEPLOYED, **extra}):
            settings = Settings.from_env("intake", environment)
            assert settings.token_secret_problem("0.0.0.0") is None, environment
    assert Settings.from_env("intake", base).token_secret_problem("127.0.0.1") is None
    assert Settings.from_env("intake", base).token_secret_problem("::1") is None
    assert Settings.from_env("intake", base).token_secret_problem("localhost") is None


@contextmanager
def _serving(data_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "api",
            "intake",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=_environment(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _answers(url: str, **headers: str) -> int | None:
    try:
        return requests.get(url, headers=headers, timeout=2).status_code
    except requests.RequestException:
        return None


def test_with_no_configuration_the_api_listens_on_loopback_only(data_dir: Path) -> None:
    """The laptop default still works, development tokens included, from this machine only."""
    port = free_port()
    with _serving(data_dir, port) as process:
        assert wait_until(
            lambda: _answers(f"http://127.0.0.1:{port}/healthz") == 200, timeout=60
        ), process.poll()
        assert listening_addresses(port) == {"127.0.0.1"}
        token = mint_token(
            Settings.from_env("intake", {"CASEHUB_DATA_DIR": str(data_dir)}), "a", ["admin"]
        )
        status = _answers(f"http://127.0.0.1:{port}/clients", Authorization=f"Bearer {token}")
        assert status == 200


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_listens_on_its_container_with_a_real_key(overlay: str) -> None:
    """Compose and Kubernetes say ``--host 0.0.0.0`` (the default is loopback, which a container
    port cannot reach), and each gives the API a key: compose requires CASEHUB_JWT_SECRET, the
    manifests' configuration names the identity provider's JWKS (its public keys)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    deployments = {d["metadata"]["name"]: d for d in rendered(overlay) if d["kind"] == "Deployment"}
    configs = {
        d["metadata"]["name"]: d.get("data", {})
        for d in rendered(overlay)
        if d["kind"] == "ConfigMap"
    }
    for name in SERVICE_NAMES:
        api = compose[f"{name}-api"]
        assert api["command"][api["command"].index("--host") + 1] == "0.0.0.0"
        assert api["environment"]["CASEHUB_JWT_SECRET"].startswith("${CASEHUB_JWT_SECRET:?")
        [container] = deployments[f"{name}-api"]["spec"]["template"]["spec"]["containers"]
        assert container["args"][container["args"].index("--host") + 1] == "0.0.0.0"
        environment: dict[str, str] = {}
        for source in container.get("envFrom", []):
            environment |= configs[source["configMapRef"]["name"]]
        environment |= {variable["name"]: "from a Secret" for variable in container["env"]}
        keys = {"CASEHUB_JWT_PUBLIC_KEY", "CASEHUB_JWT_JWKS_URL"} & set(environment)
        assert keys, f"{overlay}: {name}-api has no key but the development secret"
        settings = Settings.from_env(name, environment)
        assert settings.token_secret_problem("0.0.0.0") is None
