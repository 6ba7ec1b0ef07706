"""Import rules: services never import each other; domain rules import no framework."""

from __future__ import annotations

import ast
import re
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


#: About how long a use-case module may grow before it is split (issue 16: "≤ ~300 lines").
OPERATIONS_MODULE_LINES = 300
WEB_FRAMEWORKS = {"flask", "flask_smorest", "werkzeug"}


def _service_packages() -> list[Path]:
    """Every service package under services/ (a new one is checked as soon as it exists)."""
    return sorted(p.parent for p in (ROOT / "services").glob("*/__init__.py"))


def _web_entry_point(path: Path) -> bool:
    """Where a web framework may be imported: the platform's web layer, and in a service its
    HTTP edge (``api.py`` or an ``api/`` package) and its wiring (``app.py``)."""
    relative = path.relative_to(ROOT).parts
    if relative[:2] == ("shared", "web"):
        return True
    if relative[0] == "services" and len(relative) >= 3:
        return relative[2] in ("api.py", "app.py", "api")
    return False


def test_every_service_package_is_checked() -> None:
    packages = {p.name for p in _service_packages()}
    assert set(SERVICE_NAMES) <= packages


def test_use_cases_live_in_small_modules() -> None:
    """``services/<name>/operations`` is a package of use-case modules, none much over 300 lines
    (a service without use cases, e.g. a read model, has no operations and is skipped)."""
    checked = 0
    for package in _service_packages():
        single = package / "operations.py"
        assert not single.exists() or len(single.read_text().splitlines()) <= (
            OPERATIONS_MODULE_LINES
        ), f"{single.relative_to(ROOT)}: split it into an operations/ package by use case"
        for path in sorted((package / "operations").glob("*.py")):
            lines = len(path.read_text().splitlines())
            assert lines <= OPERATIONS_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"
            checked += 1
    assert checked, "no operations module found at all"


def test_flask_is_imported_only_at_the_web_edge() -> None:
    """The platform core (shared/ outside shared/web), use cases, domain rules, handlers, models
    and the catalog import no web framework: they run in workers and tests without one."""
    offenders = []
    for root in (ROOT / "shared", ROOT / "services"):
        for path in root.rglob("*.py"):
            if "migrations" in path.parts or _web_entry_point(path):
                continue
            frameworks = {m for m in _imports(path) if m.split(".")[0] in WEB_FRAMEWORKS}
            if frameworks:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(frameworks)}")
    assert not offenders, offenders


def test_the_platform_core_does_not_import_its_web_layer() -> None:
    """shared/service.py describes and runs a service; the web layer builds on it, never the
    other way round (the spec names its ``build_app``), so there is no import circle."""
    for path in (ROOT / "shared").rglob("*.py"):
        if path.relative_to(ROOT).parts[:2] == ("shared", "web"):
            continue
        web = {m for m in _imports(path) if m.startswith("shared.web")}
        assert not web, f"{path.relative_to(ROOT)} imports {web}"


def test_the_readme_layout_names_only_what_is_in_the_tree() -> None:
    """Every module and folder the README's layout section names exists, so it cannot go stale."""
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("```")[1]
    tracked = [
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("*")
        if ".venv" not in p.parts and ".git" not in p.parts
    ]
    named = set(re.findall(r"[\w<>]+(?:/[\w<>]+)*(?:\.py|/)(?!\w)", layout))
    missing = [
        name
        for name in sorted(named)
        if "<" not in name
        and not any(
            path == name.rstrip("/") or path.endswith("/" + name.rstrip("/")) for path in tracked
        )
    ]
    assert not missing, f"README layout names what the tree lacks: {missing}"


def test_the_command_line_reaches_services_only_through_the_catalog() -> None:
    """``casehub`` starts, migrates and maintains every service by name (services/catalog.py),
    so it never imports one: a service's commands are named on its own spec."""
    services = {p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists()}
    reachable = {"services.cli", "services.catalog"}
    for path in (ROOT / "services" / "cli").rglob("*.py"):
        bad = {
            module
            for module in _imports(path)
            if module.split(".")[0] == "services"
            and ".".join(module.split(".")[:2]) not in reachable
            and module.split(".")[1:2]
            and module.split(".")[1] in services
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
