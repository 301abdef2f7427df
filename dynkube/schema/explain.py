"""``explain``: a kind's or field's description, type and fields from its model (as kubectl explain
walks refs and array items), and the text layout of kubectl explain's plaintext template."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import errors
from .models import COMPONENT_REF, find_model, ref_name, schemas_of, suggest


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A field listed by explain: its name, kubectl-style type (``[]Container``, ``map[string]string``)."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    enum: tuple[Any, ...] = ()
    fields: tuple[FieldInfo, ...] = ()  # nested fields, filled only by a recursive explain


@dataclass(frozen=True, slots=True)
class Explanation:
    """What ``explain`` found for a kind or one of its fields; ``render()`` gives kubectl-like text."""

    group: str
    version: str
    kind: str
    path: tuple[str, ...]  # field names below the kind; () for the kind itself
    type: str
    description: str
    required: tuple[str, ...] = ()
    fields: tuple[FieldInfo, ...] = ()
    enum: tuple[Any, ...] = ()
    recursive: bool = False

    @property
    def name(self) -> str:
        """The field's name, or the kind's."""
        return self.path[-1] if self.path else self.kind

    def field(self, name: str) -> FieldInfo:
        """The child field called ``name`` (KeyError if there is none)."""
        for info in self.fields:
            if info.name == name:
                return info
        raise KeyError(name)

    def render(self) -> str:
        """Text laid out as ``kubectl explain`` prints it (``--recursive`` when built recursively)."""
        return _render(self)

    def __str__(self) -> str:
        return self.render()


def explain_document(document: Mapping[str, Any], group: str, version: str, kind: str,
                     field_path: Sequence[str] | str = (), *, recursive: bool = False) -> Explanation:
    """Explain a kind, or a field below it, from one group-version's OpenAPI v3 document."""
    schemas = schemas_of(document)
    model = find_model(document, group, version, kind)
    return Explainer(schemas).explain(group, version, kind, model, path_parts(field_path), recursive)


def path_parts(field_path: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(field_path, str):
        parts = field_path.split(".") if field_path else []
    else:
        parts = list(field_path)
    if any(not isinstance(p, str) or not p for p in parts):
        raise errors.InvalidInput(f"field path {field_path!r} has an empty part")
    return tuple(parts)


class Explainer:
    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self.schemas = schemas

    def deref(self, s: Any) -> Mapping[str, Any]:
        seen: set[str] = set()
        while (ref := ref_name(s)) is not None and ref not in seen:
            seen.add(ref)
            s = self.schemas.get(ref, {})
        return s if isinstance(s, Mapping) else {}

    def chain(self, node: Any, *, maps: bool = True) -> Iterator[Mapping[str, Any]]:
        """``node``, then what it stands for: its ``$ref`` target, array items, map values (if ``maps``)."""
        seen: set[str] = set()
        s = node
        while isinstance(s, Mapping):
            yield s
            ref = ref_name(s)
            if ref is not None:
                if ref in seen:
                    return
                seen.add(ref)
                s = self.schemas.get(ref)
            elif isinstance(s.get("items"), Mapping):
                s = s["items"]
            elif maps and isinstance(s.get("additionalProperties"), Mapping) and "properties" not in s:
                s = s["additionalProperties"]
            else:
                return

    def element(self, node: Any, *, maps: bool = False) -> Mapping[str, Any]:
        """The schema that holds a field's fields: through refs and array items (as kubectl walks)."""
        chain = list(self.chain(node, maps=maps))
        return chain[-1] if chain else {}

    def refs(self, node: Any) -> set[str]:
        """Every component a field's type goes through (to stop recursive expansion at a cycle)."""
        return {r for s in self.chain(node) if (r := ref_name(s)) is not None}

    def explain(self, group: str, version: str, kind: str, model: str, path: tuple[str, ...],
                recursive: bool) -> Explanation:
        node: Any = {"$ref": COMPONENT_REF + model}
        for depth, name in enumerate(path):
            props = self.element(node, maps=True).get("properties") or {}
            if name not in props:
                raise self._not_found(kind, path[:depth], name, props)
            node = props[name]
        holder = self.element(node, maps=True)
        return Explanation(
            group=group, version=version, kind=kind, path=path,
            type=self.type_name(node) if path else kind,
            description=self.description(node),
            required=tuple(holder.get("required") or ()),
            fields=self.fields(holder, recursive=recursive, visiting=self.refs(node) | {model}),
            enum=tuple(self.deref(node).get("enum") or ()), recursive=recursive,
        )

    @staticmethod
    def _not_found(kind: str, parent: tuple[str, ...], name: str, props: Mapping[str, Any]) -> Exception:
        prefix = ".".join(parent)
        wanted = f"{prefix}.{name}" if prefix else name
        close = tuple(f"{prefix}.{c}" if prefix else c for c in suggest(name, list(props)))
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        where = f"{kind}.{prefix}" if prefix else kind
        return errors.FieldNotFound(f'field "{name}" does not exist in {where}{hint}',
                                    path=wanted, candidates=close)

    def description(self, node: Any) -> str:
        """The field's own description, then those of its type, array items or map values (as kubectl)."""
        return "\n".join(d for s in self.chain(node) if isinstance(d := s.get("description"), str) and d)

    def type_name(self, s: Any) -> str:
        """kubectl's type label: ``integer``, ``Object``, ``[]Container``, ``map[string]string``, ``IntOrString``.

        As in kubectl, a field without a type (e.g. a CRD's ``x-kubernetes-int-or-string``) shows as ``Object``.
        """
        if not isinstance(s, Mapping):
            return "Object"
        ref = ref_name(s)
        if ref is not None:
            target_type = self.schemas.get(ref, {}).get("type")
            if isinstance(target_type, str) and target_type not in ("object", "array"):
                return target_type
            return ref.rsplit(".", 1)[-1]
        if isinstance(s.get("items"), Mapping):
            return "[]" + self.type_name(s["items"])
        if isinstance(s.get("additionalProperties"), Mapping):
            return "map[string]" + self.type_name(s["additionalProperties"])
        kind = s.get("type")
        if isinstance(kind, str) and kind != "object":
            return kind
        return "Object"

    def fields(self, holder: Mapping[str, Any], *, recursive: bool, visiting: set[str]) -> tuple[FieldInfo, ...]:
        props = holder.get("properties")
        if not isinstance(props, Mapping):
            return ()
        required = set(holder.get("required") or ())
        return tuple(self.field_info(name, props[name], name in required, recursive, visiting)
                     for name in sorted(props))

    def field_info(self, name: str, node: Any, required: bool, recursive: bool, visiting: set[str]) -> FieldInfo:
        children: tuple[FieldInfo, ...] = ()
        if recursive:
            refs = self.refs(node)
            if not refs & visiting:
                children = self.fields(self.element(node, maps=True), recursive=True, visiting=visiting | refs)
        description = node.get("description", "") if isinstance(node, Mapping) else ""
        return FieldInfo(name=name, type=self.type_name(node), description=description or "",
                         required=required, enum=tuple(self.deref(node).get("enum") or ()), fields=children)


_WRAP = 76
_ENUM_SHOWN = 4  # kubectl lists this many enum values in FIELDS, then ", ...."


def _render(e: Explanation) -> str:
    lines = [f"GROUP:      {e.group}"] if e.group else []
    lines += [f"KIND:       {e.kind}", f"VERSION:    {e.version}", ""]
    if e.path:
        lines.append(f"FIELD: {e.name} <{e.type}>")
        lines += ["ENUM:", *(f"    {_enum_text(v)}" for v in e.enum), ""] if e.enum else ["", ""]
    lines.append("DESCRIPTION:")
    lines += ["    " + line for line in _wrap(e.description or "<empty>", _WRAP)]
    if e.description:
        lines.append("    ")  # kubectl ends each description with a newline, then indents the empty rest
    if e.fields:
        lines.append("FIELDS:")
        for info in e.fields:
            lines += _field_lines(info, 1, e.recursive)
    return "\n".join(lines) + "\n\n"


def _field_lines(info: FieldInfo, depth: int, recursive: bool) -> list[str]:
    pad = "  " * depth
    out = [f"{pad}{info.name}\t<{info.type}>" + (" -required-" if info.required else "")]
    if info.enum:
        shown = ", ".join(_enum_text(v) for v in info.enum[:_ENUM_SHOWN])
        out.append(f"{pad}enum: {shown}" + (", ...." if len(info.enum) > _ENUM_SHOWN else ""))
    if recursive:
        for child in info.fields:
            out += _field_lines(child, depth + 1, True)
        return out
    out += [f"{pad}  {line}" for line in _wrap(info.description or "<no description>", _WRAP)]
    return out + [""]


def _enum_text(value: Any) -> str:
    """An enum value as kubectl's Go template prints it: ``""`` for the empty string, numbers as float64 ``%v``."""
    if isinstance(value, str):
        return value or '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    return json.dumps(value)


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64 (kubectl decodes JSON numbers to float64): ``1``, ``0.5``, ``1e+06``, ``1.5e-05``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    import decimal

    number = decimal.Decimal(repr(value)).normalize()  # the shortest digits that round-trip, as Go's
    _sign, digits, exponent = number.as_tuple()
    exp = len(digits) + int(exponent) - 1
    if -4 <= exp < 6:  # shortest %g: exponent form when exp < -4 or exp >= 6
        return format(number, "f")
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if value < 0 else ''}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap that keeps runs of spaces and line breaks, like kubectl (go-wordwrap)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        out += _wrap_line(paragraph, width)
    return out


def _wrap_line(line: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    spaces = ""
    for word in re.findall(r"\s+|\S+", line):
        if word.isspace():
            spaces += word
            continue
        if current and len(current) + len(spaces) + len(word) > width:
            lines.append(current)
            current, spaces = "", ""
        current += spaces + word
        spaces = ""
    lines.append(current + spaces if not current else current)
    return lines
