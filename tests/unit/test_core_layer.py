"""dynkube.core is sans-I/O and sits below the shells: it imports no HTTP library, nothing that
sleeps or starts threads, and no dynkube module above it (not even lazily or for typing); the
layers of the whole package are checked in test_layers.py."""

from __future__ import annotations

import ast
from pathlib import Path

import dynkube.core

CORE = Path(dynkube.core.__file__).parent
BELOW_CORE = {"dynkube.errors", "dynkube.objects", "dynkube.options", "dynkube.resources"}
NO_IO = {"requests", "urllib3", "httpx", "socket", "ssl", "threading", "time", "asyncio", "concurrent", "subprocess"}


def imported(path: Path, package: str) -> set[str]:
    """Every module a file of ``package`` imports, anywhere in it (function bodies and TYPE_CHECKING
    blocks too); relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                if node.module:
                    names.add(f"{base}.{node.module}")
                else:  # from .. import errors
                    names.update(f"{base}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module or "")
    return names


def test_core_imports_no_io_and_nothing_above_it() -> None:
    modules = sorted(CORE.glob("*.py"))
    assert modules
    for path in modules:
        for name in imported(path, "dynkube.core"):
            top = name.split(".")[0]
            assert top not in NO_IO, f"{path.name} imports {name}"
            if top == "dynkube":
                assert name.startswith("dynkube.core") or name in BELOW_CORE, f"{path.name} imports {name}"

