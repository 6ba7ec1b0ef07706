"""Interactive API docs (Swagger UI at ``/docs``) served by the service itself from the
``swagger-ui-bundle`` package, so the page works with no internet: a laptop on a train, a clinic
network that blocks CDNs."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "docs"
ASSETS_URL = "/docs/assets/"


def docs_config() -> dict[str, Any]:
    """flask-smorest settings for a Swagger UI whose scripts and styles come from this service.
    The validator badge is off: it would send the spec to validator.swagger.io."""
    return {
        "OPENAPI_SWAGGER_UI_PATH": DOCS_PATH,
        "OPENAPI_SWAGGER_UI_URL": ASSETS_URL,
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
    }


def register_docs_assets(app: Flask) -> None:
    """Serve Swagger UI's files (scripts, styles, source maps) under ``/docs/assets/``."""
    folder = str(swagger_ui_path)

    def swagger_ui_asset(filename: str) -> Response:
        return send_from_directory(folder, filename, max_age=24 * 3600)

    app.add_url_rule(
        f"{ASSETS_URL}<path:filename>", endpoint="swagger_ui_asset", view_func=swagger_ui_asset
    )
