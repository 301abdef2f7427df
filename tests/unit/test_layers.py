"""The layers import only downward (docs/architecture.md): no module imports a module of a layer
above its own, not even inside a function or under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

import dynkube

ROOT = Path(dynkube.__file__).parent
LAYERS = {  # the second part of a module's name -> its layer, bottom (1) to top
    "errors": 1, "objects": 1, "options": 1, "resources": 1, "_version": 1, "_diskcache": 1,
    "config": 2, "credentials": 2,
    "core": 3, "raw": 3,
    "transport": 4, "discovery": 4, "watch": 4, "schema": 4, "streaming": 4,
    "client": 5,
    "informer": 6, "manifests": 6, "helpers": 6,
    "events": 6, "descriptions": 6, "owners": 6, "rollout": 6, "drain": 6, "diff": 6,
    "export": 6, "snapshot": 6, "copying": 6, "attachable": 6, "stubs": 6, "access": 6, "kubeconfig_edit": 2,
    "__init__": 7,  # the package's public names (``import dynkube``), which the CLI uses
    "cli": 8, "__main__": 8,
}
KNOWN = {  # convenience methods of Client that delegate up: not yet inverted
    ("dynkube.client", "dynkube.manifests"),  # Client.apply_manifests
    ("dynkube.client", "dynkube.snapshot"),  # Client.from_snapshot
}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS["__init__"] if len(parts) == 1 else LAYERS[parts[1]]


def imports(path: Path) -> tuple[str, set[str]]:
    """The module name of a file and every dynkube module it imports, anywhere in it."""
    parts = ("dynkube", *path.relative_to(ROOT).with_suffix("").parts)
    is_package = path.name == "__init__.py"
    module = ".".join(parts[:-1] if is_package else parts)
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
            found.update([f"{base}.{node.module}"] if node.module else [f"{base}.{a.name}" for a in node.names])
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module or "")
    return module, {name for name in found if name.split(".")[0] == "dynkube"}


def test_every_module_has_a_layer() -> None:
    for path in ROOT.rglob("*.py"):
        module, _ = imports(path)
        layer(module)  # KeyError names a module the table does not place


def test_no_module_imports_upward() -> None:
    upward = {(module, name) for path in sorted(ROOT.rglob("*.py")) for module, names in [imports(path)]
              for name in names if layer(name) > layer(module)}
    assert upward == KNOWN
