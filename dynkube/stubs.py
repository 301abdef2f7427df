"""Typed stubs: a Python package of ``TypedDict``s generated from the server's OpenAPI v3 schemas.

``generate_stubs`` writes one module per group-version (the kinds asked for and every type they
reach, with ``NotRequired`` for optional fields, ``Literal`` for enums and docstrings from the
descriptions) and an ``__init__`` whose ``typed(client)`` gives a client that type checkers see
with overloads, so ``typed(client).resource("gizmos").get("g1")`` is a ``Gizmo``. Nothing changes
at run time: objects stay ``ApiObject``s (dicts), and ``typed`` returns the client itself.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, SchemaUnavailable
from .resources import Resource

if TYPE_CHECKING:
    from .client import Client

_REF_PREFIX = "#/components/schemas/"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
_RESERVED = frozenset({"Any", "Literal", "NotRequired", "TypedDict", "str", "int", "float", "bool", "list", "dict"})


@dataclass
class _TypedDictSpec:
    """One TypedDict to write: its name, docstring and fields (name, type, required, description)."""

    name: str
    description: str
    fields: list[tuple[str, str, bool, str]] = field(default_factory=list)


class _Module:
    """The TypedDicts of one group-version document, named uniquely, written in a stable order."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.models: Mapping[str, Any] = (document.get("components") or {}).get("schemas") or {}
        self.specs: dict[str, _TypedDictSpec] = {}
        self.names_by_model: dict[str, str] = {}
        self.used_names: set[str] = set(_RESERVED)

    def model_of(self, resource: Resource) -> str:
        for name, schema in self.models.items():
            for gvk in schema.get("x-kubernetes-group-version-kind") or []:
                if (gvk.get("group", ""), gvk.get("version"), gvk.get("kind")) == \
                        (resource.group, resource.version, resource.kind):
                    return name
        raise SchemaUnavailable(f"the OpenAPI v3 document of {resource.api_version} has no model of {resource.kind}")

    def unique(self, wanted: str) -> str:
        name = _class_name(wanted)
        candidate, n = name, 2
        while candidate in self.used_names:
            candidate, n = f"{name}{n}", n + 1
        self.used_names.add(candidate)
        return candidate

    def model_type(self, model: str) -> str:
        """The class name of a ``components.schemas`` model, generating it on first use."""
        if model in self.names_by_model:
            return self.names_by_model[model]
        schema = self.models.get(model)
        if not isinstance(schema, Mapping):
            raise SchemaUnavailable(f"the OpenAPI v3 document has no model {model!r} (a $ref points at it)")
        if not _is_object(schema):  # Quantity, IntOrString, Time: an alias of their value type
            alias = self.type_of(schema, model.rsplit(".", 1)[-1])
            self.names_by_model[model] = alias
            return alias
        name = self.unique(model.rsplit(".", 1)[-1])
        self.names_by_model[model] = name
        self.object_type(schema, name)
        return name

    def object_type(self, schema: Mapping[str, Any], name: str) -> str:
        spec = _TypedDictSpec(name, str(schema.get("description") or ""))
        self.specs[name] = spec
        required = set(schema.get("required") or [])
        for prop, sub in sorted((schema.get("properties") or {}).items()):
            sub = sub if isinstance(sub, Mapping) else {}
            spec.fields.append((prop, self.type_of(sub, name + _camel(prop)), prop in required,
                                str(sub.get("description") or "")))
        return name

    def type_of(self, schema: Mapping[str, Any], name: str) -> str:
        """The type expression of a schema node; ``name`` names a nested TypedDict if one is needed."""
        ref = _ref(schema)
        if ref is not None:
            base = self.model_type(ref)
        elif schema.get("x-kubernetes-int-or-string"):
            base = "int | str"
        elif "oneOf" in schema or "anyOf" in schema:
            options = [self.type_of(s, name) for s in schema.get("oneOf") or schema.get("anyOf") or []
                       if isinstance(s, Mapping)]
            base = " | ".join(dict.fromkeys(options)) or "Any"
        else:
            base = self.plain_type(schema, name)
        return f"{base} | None" if schema.get("nullable") and base != "Any" else base

    def plain_type(self, schema: Mapping[str, Any], name: str) -> str:
        kind = schema.get("type")
        if kind in _SCALARS:
            values = schema.get("enum")
            if isinstance(values, list) and values and all(isinstance(v, (str, int, bool)) for v in values) \
                    and kind != "number":
                return "Literal[" + ", ".join(repr(v) for v in values) + "]"
            return _SCALARS[str(kind)]
        if kind == "array":
            items = schema.get("items")
            return f"list[{self.type_of(items, name + 'Item') if isinstance(items, Mapping) else 'Any'}]"
        if schema.get("properties"):
            return self.object_type(schema, self.unique(name))
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            return f"dict[str, {self.type_of(extra, name + 'Value')}]"
        if kind == "object":
            return "dict[str, Any]"
        return "Any"

    def root(self, resource: Resource, model: str) -> str:
        """The kind's class: apiVersion and kind typed as their one value."""
        name = self.model_type(model)
        spec = self.specs[name]
        literal = {"apiVersion": repr(resource.api_version), "kind": repr(resource.kind)}
        spec.fields = [(f, f"Literal[{literal[f]}]" if f in literal else t, r, d) for f, t, r, d in spec.fields]
        return name

    def render(self, header: str) -> str:
        body: list[str] = []
        for spec in self.specs.values():
            body += ["", *_render(spec)]
        types = " ".join(kind for spec in self.specs.values() for _, kind, _, _ in spec.fields)
        optional = any(not required for spec in self.specs.values() for _, _, required, _ in spec.fields)
        used = [name for name in ("Any", "Literal") if re.search(rf"\b{name}\b", types)] + \
            (["NotRequired"] if optional else [])
        lines = [header, "", "from __future__ import annotations", "",
                 f"from typing import {', '.join([*used, 'TypedDict'])}", "", *body]
        return "\n".join(lines).rstrip() + "\n"


def _render(spec: _TypedDictSpec) -> list[str]:
    if all(_IDENTIFIER.match(f) and not keyword.iskeyword(f) and f not in _RESERVED for f, *_ in spec.fields):
        lines = [f"class {spec.name}(TypedDict):", f"    {_docstring(spec.description or spec.name)}"]
        for name, kind, required, description in spec.fields:
            lines.append(f"    {name}: {kind if required else f'NotRequired[{kind}]'}")
            if description:
                lines.append(f"    {_docstring(description)}")
        return [*lines, ""]
    entries = [f"    {name!r}: {repr(kind if required else f'NotRequired[{kind}]')},"
               for name, kind, required, _ in spec.fields]
    comment = [f"# {line}" for line in (spec.description or spec.name).splitlines()[:3]]
    return [*comment, f"{spec.name} = TypedDict({spec.name!r}, {{", *entries, "})", ""]


def _docstring(text: str) -> str:
    cleaned = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()
    if cleaned.endswith('"'):
        cleaned += " "
    return f'"""{cleaned}"""'


def _ref(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if ref is None:
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            ref = all_of[0].get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        return ref[len(_REF_PREFIX):]
    return None


def _is_object(schema: Mapping[str, Any]) -> bool:
    return bool(schema.get("properties")) or (schema.get("type") == "object" and "additionalProperties" not in schema
                                              and not schema.get("x-kubernetes-preserve-unknown-fields"))


def _camel(text: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", text)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def _class_name(text: str) -> str:
    name = _camel(text) or "Model"
    if name[0].isdigit():
        name = "T" + name
    return name + "_" if keyword.iskeyword(name) else name


def module_name(group: str, version: str) -> str:
    """The module of a group-version: ``core_v1``, ``apps_v1``, ``cert_manager_io_v1``."""
    return re.sub(r"[^a-z0-9]+", "_", f"{group or 'core'}_{version}".lower())


def _check_package(package: str) -> None:
    if not isinstance(package, str) or not all(_IDENTIFIER.match(p) and not keyword.iskeyword(p)
                                                for p in package.split(".")):
        raise InvalidInput(f"invalid package name {package!r}: expected a Python identifier")


def _resources(client: Client, kinds: Iterable[str]) -> list[Resource]:
    if isinstance(kinds, str):
        raise InvalidInput("kinds must be a list of resource names, not a string")
    named = [client.resource(name).resource for name in kinds]
    return named or [r for r in client.api_resources() if "get" in r.verbs]


@dataclass(frozen=True)
class StubsResult:
    """What ``generate_stubs`` wrote: the package directory, the kinds typed, the kinds skipped (why)."""

    package: Path
    kinds: tuple[str, ...]
    skipped: tuple[str, ...]


def generate_stubs(client: Client, output: str | Path, kinds: Iterable[str] = (), *,
                   package: str = "dynkube_stubs") -> StubsResult:
    """Write the package ``package`` of TypedDicts for ``kinds`` (default: every kind served) into ``output``.

    Works on any client, a snapshot's too (``dynkube.open_snapshot``). A kind without an OpenAPI
    model (e.g. an aggregated API without schemas) is skipped and named in the result; an unknown
    kind or an unwritable directory raises before anything is written.
    """
    _check_package(package)
    root = Path(output) / Path(*package.split("."))
    resources = _resources(client, kinds)
    by_gv: dict[tuple[str, str], list[Resource]] = {}
    for r in resources:
        by_gv.setdefault((r.group, r.version), []).append(r)
    modules: dict[str, str] = {}
    typed: list[tuple[Resource, str, str]] = []  # resource, module, class
    skipped: list[str] = []
    for (group, version), members in sorted(by_gv.items()):
        try:
            module = _Module(client.schemas.document(group, version))
        except SchemaUnavailable as exc:
            skipped += [f"{r.group_resource}: {exc}" for r in members]
            continue
        for r in members:
            try:
                typed.append((r, module_name(group, version), module.root(r, module.model_of(r))))
            except SchemaUnavailable as exc:
                skipped.append(f"{r.group_resource}: {exc}")
        if module.specs:
            header = f'"""TypedDicts of {group or "core"}/{version}, generated by dynkube from the server\'s ' \
                     'OpenAPI v3 schemas."""'
            modules[module_name(group, version)] = module.render(header)
    _write_package(root, modules, _init_module(typed))
    return StubsResult(root, tuple(r.group_resource for r, _, _ in typed), tuple(skipped))


def _write_package(root: Path, modules: Mapping[str, str], init: str) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        for name, text in modules.items():
            (root / f"{name}.py").write_text(text, encoding="utf-8")
        (root / "__init__.py").write_text(init, encoding="utf-8")
        (root / "py.typed").write_text("", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write the stubs to {root}: {exc.strerror or exc}") from None


def _names(r: Resource) -> list[str]:
    """Every name ``Client.resource`` resolves to this resource without ambiguity, as a Literal."""
    names = [r.plural, r.group_resource, f"{r.plural}.{r.version}.{r.group}" if r.group else f"{r.version}/{r.plural}"]
    if r.singular:
        names.append(r.singular)
    names += [r.kind, *r.short_names]
    return list(dict.fromkeys(names))


def _init_module(typed: list[tuple[Resource, str, str]]) -> str:
    imports = sorted({(module, cls) for _, module, cls in typed})
    aliases = {(module, cls): f"{cls}_{module}" for module, cls in imports}
    taken: dict[str, int] = {}
    for _, cls in imports:
        taken[cls] = taken.get(cls, 0) + 1
    local = {key: key[1] if taken[key[1]] == 1 else alias for key, alias in aliases.items()}
    lines = ['"""Typed stubs generated by dynkube: ``typed(client).resource("gizmos").get("g1")`` is a ``Gizmo``',
             "to a type checker; at run time ``typed`` returns the client itself and objects stay ApiObjects.",
             '"""', "", "from __future__ import annotations", "",
             "import builtins",
             "from collections.abc import Iterator, Mapping",
             "from typing import Any, Literal, Protocol, TypeVar, cast, overload", "",
             "import dynkube", ""]
    for module, cls in imports:
        name = local[(module, cls)]
        lines.append(f"from .{module} import {cls}" + (f" as {name}" if name != cls else ""))
    lines += ["", "", 'T = TypeVar("T")', "", "",
              *_PROTOCOLS.splitlines(), "", "", "class TypedClient(Protocol):",
              '    """A dynkube.Client as the type checker sees it through ``typed``."""', ""]
    seen: set[str] = set()
    for r, module, cls in typed:
        names = [n for n in _names(r) if n not in seen]
        seen |= set(names)
        if names:
            literal = ", ".join(repr(n) for n in names)
            returned = f"TypedResourceClient[{local[(module, cls)]}]"
            lines += ["    @overload",  # the fallback's str overlaps by design: the first match wins
                      f"    def resource(self, name: Literal[{literal}]) -> {returned}: ...  "
                      "# type: ignore[overload-overlap]", ""]
    lines += ["    @overload",
              "    def resource(self, name: str, kind: str | None = None) -> dynkube.ResourceClient: ...", "",
              "    def resource(self, name: str, kind: str | None = None) -> Any: ...", "", "",
              "def typed(client: dynkube.Client) -> TypedClient:",
              '    """``client`` itself, seen by type checkers with the generated overloads."""',
              "    return cast(TypedClient, client)", "",
              f"__all__ = {sorted({'typed', 'TypedClient', 'TypedResourceClient', *local.values()})!r}", ""]
    return "\n".join(lines)


_PROTOCOLS = '''class TypedResourceClient(Protocol[T]):
    """A dynkube.ResourceClient whose objects are typed ``T`` (at run time: ApiObjects)."""

    def get(self, name: str, namespace: str | None = None, **options: Any) -> T: ...

    def list(self, namespace: str | None = None, **options: Any) -> Iterator[T]: ...

    def create(self, body: T, namespace: str | None = None, **options: Any) -> T: ...

    def replace(self, body: T, namespace: str | None = None, **options: Any) -> T: ...

    def apply(self, body: T, namespace: str | None = None, **options: Any) -> T: ...

    def patch(self, name: str, patch: Mapping[str, Any] | builtins.list[Any], namespace: str | None = None,
              **options: Any) -> T: ...

    def delete(self, name: str, namespace: str | None = None, **options: Any) -> Any: ...

    def list_page(self, namespace: str | None = None, **options: Any) -> dynkube.ApiList: ...

    def watch(self, namespace: str | None = None, **options: Any) -> dynkube.Watch: ...'''

