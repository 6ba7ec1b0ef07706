"""Import rules: services never import each other; domain rules import no framework."""

from __future__ import annotations

import ast
from pathlib import Path

from shared.config import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_services_never_import_each_other() -> None:
    for name in SERVICE_NAMES:
        others = {f"services.{other}" for other in SERVICE_NAMES if other != name}
        for path in (ROOT / "services" / name).rglob("*.py"):
            bad = {
                module
                for module in _imports(path)
                if module.split(".")[:2] and ".".join(module.split(".")[:2]) in others
            }
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_domain_rules_import_no_framework() -> None:
    for path in (ROOT / "services").glob("*/domain.py"):
        frameworks = {
            m
            for m in _imports(path)
            if m.split(".")[0] in {"flask", "flask_smorest", "kombu", "sqlalchemy"}
        }
        assert not frameworks, f"{path.relative_to(ROOT)} imports {frameworks}"


def test_platform_library_does_not_depend_on_services() -> None:
    for path in (ROOT / "shared").rglob("*.py"):
        assert not any(m.split(".")[0] == "services" for m in _imports(path)), path
