"""What a module imports, for the tests that keep domain rules free of any framework."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SHARED_RULES = Path(__file__).resolve().parents[2] / "shared" / "rules.py"


def imported_modules(path: Path) -> set[str]:
    """Module names a file imports (``from shared import rules`` counts as ``shared.rules``)."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.update(
                f"{node.module}.{alias.name}" if node.module == "shared" else node.module
                for alias in node.names
            )
    return imported - {"__future__"}


def non_standard_imports(domain_file: Path) -> set[str]:
    """What a domain module imports beyond the standard library and ``shared.rules`` (the rules
    several services apply, written once), which must itself import only the standard library."""
    rules = {m.split(".")[0] for m in imported_modules(SHARED_RULES)}
    assert rules <= sys.stdlib_module_names, rules
    imported = imported_modules(domain_file) - {"shared.rules"}
    return {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names}
