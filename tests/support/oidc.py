"""A real OpenID provider for the tests: the npm package ``oidc-provider`` run by the machine's
Node.js (tests/support/node, installed with ``npm ci`` when node_modules is missing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.ports import free_port

NODE_DIR = Path(__file__).parent / "node"
WEB_CLIENT_ID = "casehub-web"
WEB_CLIENT_SECRET = "casehub-web-test-secret-0123456789abcdef"
MACHINE_SECRET = "casehub-machine-test-secret-0123456789"
#: The demo people as the provider's accounts (same ids as the development sign-in).
ACCOUNTS: dict[str, dict[str, Any]] = {
    "cm-ana": {"name": "Ana Ortiz", "roles": ["case_manager"]},
    "sup-maria": {"name": "Maria Santos", "roles": ["supervisor"]},
    "iw-demo": {"name": "Ivy Walsh", "roles": ["intake_worker"]},
    "on-call-demo": {"name": "Omar Cole", "roles": ["on_call"]},
}
#: Machine clients (client credentials): the test's admin set-up, and the partner's system.
MACHINES: dict[str, dict[str, Any]] = {
    "casehub-setup": {"roles": ["admin"]},
    "housing-first-system": {"roles": ["partner"], "org": "housing-first"},
}


def ensure_node_modules() -> None:
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "npm is needed for the test OpenID provider (Node.js, Debian nodejs npm)"
            )
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)


@dataclass
class OpenIdProvider:
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    access_token_seconds: int = 300
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def start(self) -> OpenIdProvider:
        ensure_node_modules()
        config = {
            "port": self.port,
            "accounts": ACCOUNTS,
            "machines": MACHINES,
            "accessTokenSeconds": self.access_token_seconds,
            "clients": [
                {
                    "client_id": WEB_CLIENT_ID,
                    "client_secret": WEB_CLIENT_SECRET,
                    "redirect_uris": self.redirect_uris,
                    "post_logout_redirect_uris": self.post_logout_redirect_uris,
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "client_secret_basic",
                },
                *(
                    {
                        "client_id": machine,
                        "client_secret": MACHINE_SECRET,
                        "grant_types": ["client_credentials"],
                        "response_types": [],
                        "redirect_uris": [],
                        "token_endpoint_auth_method": "client_secret_basic",
                    }
                    for machine in MACHINES
                ),
            ],
        }
        self.process = subprocess.Popen(
            ["node", str(NODE_DIR / "oidc_provider.mjs")],
            env={**os.environ, "OIDC_CONFIG": json.dumps(config)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        output: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                output.append(line)
                if line.startswith("ready "):
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(60):
            self.stop()
            raise RuntimeError("the OpenID provider did not start:\n" + "".join(output))
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def machine_token(self, client_id: str) -> str:
        """An access token for a machine client (client credentials), as the provider issues it."""
        response = requests.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "client_credentials",
                "scope": "casehub",
                "resource": "urn:casehub:api",
            },
            auth=(client_id, MACHINE_SECRET),
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def log_in(self, authorization_url: str, login: str, redirect_prefix: str) -> str:
        """What a person does at the provider's own pages (its development login form): sign
        in as ``login``, and return the URL the provider sends the browser back to."""
        session = requests.Session()
        url = authorization_url
        for _ in range(12):
            response = session.get(url, allow_redirects=False, timeout=10)
            if response.status_code in (302, 303):
                url = urllib.parse.urljoin(url, response.headers["Location"])
                if url.startswith(redirect_prefix):
                    return url
                continue
            action = _form_action(response.text)
            posted = session.post(
                urllib.parse.urljoin(url, action),
                data=_form_fields(response.text) | {"login": login, "password": "any"},
                allow_redirects=False,
                timeout=10,
            )
            url = urllib.parse.urljoin(url, posted.headers["Location"])
            if url.startswith(redirect_prefix):
                return url
        raise AssertionError(f"the provider never sent the browser back (last at {url})")


def _form_action(page: str) -> str:
    import re

    found = re.search(r'<form[^>]*action="([^"]+)"', page)
    if not found:
        raise AssertionError(f"no form on the provider's page: {page[:500]}")
    return found[1]


def _form_fields(page: str) -> Mapping[str, str]:
    import re

    return dict(
        re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)
    )
