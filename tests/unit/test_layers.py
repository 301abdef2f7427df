"""The layers import only downward (docs/architecture.md): no module imports a module of a layer
above its own, not even inside a function or under TYPE_CHECKING; no two modules import each other,
directly or round a longer loop, in any layer; and no module reaches another module's private names."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

import dynkube

ROOT = Path(dynkube.__file__).parent
LAYERS = {  # the second part of a module's name -> its layer, bottom (1) to top
    "errors": 1, "objects": 1, "options": 1, "resources": 1, "_version": 1, "_diskcache": 1,
    "config": 2, "credentials": 2,
    "core": 3, "raw": 3,
    "transport": 4, "connection": 4, "discovery": 4, "watch": 4, "schema": 4, "streaming": 4,
    "client": 5, "verbs": 5,
    "informer": 6, "manifests": 6, "waiting": 6, "retrying": 6,
    "events": 6, "descriptions": 6, "owners": 6, "rollout": 6, "drain": 6, "diff": 6,
    "export": 6, "podlogs": 6, "snapshot": 6, "copying": 6, "attachable": 6, "stubs": 6, "access": 6,
    "kubeconfig_edit": 2,
    "__init__": 7,  # the package's public names (``import dynkube``), which the CLI uses
    "cli": 8, "__main__": 8,
}
KNOWN: set[tuple[str, str]] = set()  # imports upward not yet inverted: none


class Use(NamedTuple):
    """One module's use of another: the module imported, and the name taken from it (None: the module)."""

    module: str
    name: str | None


def module_name(path: Path) -> str:
    parts = ("dynkube", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if path.name == "__init__.py" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


AIO_LAYERS = {  # dynkube.aio's modules sit in the layers of their sync counterparts
    "transport": 4, "discovery": 4, "watch": 4, "streaming": 4, "client": 5, "informer": 6, "waiting": 6,
    "manifests": 6, "podlogs": 6, "copying": 6, "__init__": 7,
}


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] == "aio":
        return AIO_LAYERS[parts[2] if len(parts) > 2 else "__init__"]
    return LAYERS["__init__"] if len(parts) == 1 else LAYERS[parts[1]]


def uses(path: Path, module: str | None = None) -> Iterator[Use]:
    """Every dynkube module a file imports, anywhere in it, and the names it takes from each; then
    every attribute it reads from a dynkube module it imported whole (``schema._store``)."""
    module = module or module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    bound: dict[str, str] = {}  # local name -> the dynkube module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Use(alias.name, None)
                bound[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:  # ``from . import schema``: a module
                    yield Use(f"{source}.{alias.name}", None)
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
                else:
                    yield Use(source, alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            yield Use(bound[node.value.id], node.attr)


def imports(path: Path) -> tuple[str, set[str]]:
    """The module name of a file and every dynkube module it imports, anywhere in it."""
    found = {use.module for use in uses(path)}
    return module_name(path), {name for name in found if name.split(".")[0] == "dynkube"} - {module_name(path)}


GRAPH = {module: names for module, names in map(imports, MODULES.values())}


def cycle_through(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    """The modules of a loop of imports that leads from ``start`` back to it, or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        module, trail = stack.pop()
        for name in sorted(edges.get(module, ())):
            if name == start:
                return trail + [start]
            if name not in seen:
                seen.add(name)
                stack.append((name, trail + [name]))
    return None


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer(module)  # KeyError names a module the table does not place


def test_no_module_imports_upward() -> None:
    upward = {(module, name) for module, names in GRAPH.items() for name in names if layer(name) > layer(module)}
    assert upward == KNOWN


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_part_of_an_import_cycle(module: str) -> None:
    edges = {m: {n for n in names if (m, n) not in KNOWN} for m, names in GRAPH.items()}
    assert cycle_through(module, edges) is None, " -> ".join(cycle_through(module, edges) or [])


def test_no_module_uses_another_modules_private_names() -> None:
    private = sorted(f"{module_name(path)} uses {use.module}.{use.name}" for path in MODULES.values()
                     for use in uses(path) if use.module.split(".")[0] == "dynkube" and use.name is not None
                     and use.name.startswith("_") and not use.name.startswith("__"))
    assert private == []


def test_the_check_sees_a_cycle_and_a_private_name(tmp_path: Path) -> None:
    assert cycle_through("a", {"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_through("b", {"a": {"b"}, "b": {"a"}}) == ["b", "a", "b"]
    assert cycle_through("a", {"a": {"b"}, "b": {"c"}, "c": {"b"}}) is None  # a is on no loop
    source = tmp_path / "user.py"
    source.write_text("from .errors import _hidden\nfrom . import schema\n\ndef f():\n    return schema._store\n")
    assert {use for use in uses(source, "dynkube.user") if use.name} == {
        Use("dynkube.errors", "_hidden"), Use("dynkube.schema", "_store")}
