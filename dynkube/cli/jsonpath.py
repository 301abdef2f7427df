"""The JSONPath templates of ``-o jsonpath=...`` and ``-o custom-columns=...``: the subset kubectl users type.

Supported: text around ``{...}`` actions; paths ``.a.b``, ``$``/``@`` roots, ``['a.b']`` and ``a\\.b`` for keys
with dots, ``[N]`` (negative too), ``[a:b]`` slices, ``[*]`` and ``.*`` wildcards, ``..name`` recursive descent,
``[?(@.f == "x")]`` filters (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` against a string or number literal,
or plain ``[?(@.f)]`` existence); ``{range PATH}...{end}``; string literals such as ``{"\\n"}``.
Not supported (an error says so): unions ``[0,1]``, ``['a','b']``, filters combining conditions with
``&&``/``||``, and regular expressions (``=~``). Missing keys print nothing, as kubectl's default
``--allow-missing-template-keys=true``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class JSONPathError(ValueError):
    """The template cannot be parsed or uses a feature this subset does not have."""


# ---- paths ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    name: str
    recursive: bool = False  # ``..name``


@dataclass(frozen=True)
class _Wildcard:
    recursive: bool = False


@dataclass(frozen=True)
class _Index:
    index: int


@dataclass(frozen=True)
class _Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True)
class _Filter:
    path: tuple[Any, ...]
    op: str | None  # None: existence
    value: Any


_FILTER = re.compile(r"^\?\(\s*@((?:\.[^\s=!<>]+|\[[^\]]*\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def parse_path(text: str) -> tuple[Any, ...]:
    """Steps of one path such as ``.items[*].metadata.name`` (leading ``$`` or ``@`` allowed)."""
    source = text
    text = text.strip()
    if text.startswith(("$", "@")):
        text = text[1:]
    steps: list[Any] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == ".":
            recursive = text.startswith("..", i)
            i += 2 if recursive else 1
            if i < len(text) and text[i] == "*":
                steps.append(_Wildcard(recursive))
                i += 1
                continue
            if recursive and i < len(text) and text[i] == "[":
                steps.append(_Wildcard(True))
                continue
            name, i = _read_name(text, i)
            if not name:
                if i >= len(text) and not steps and not recursive:
                    break  # a lone "." is the current object
                raise JSONPathError(f"invalid JSONPath {source!r}: expected a field name at offset {i}")
            steps.append(_Field(name, recursive))
        elif char == "[":
            end = _closing_bracket(text, i, source)
            steps.append(_bracket(text[i + 1:end].strip(), source))
            i = end + 1
        else:
            name, i = _read_name(text, i)
            if not name:
                raise JSONPathError(f"invalid JSONPath {source!r}: unexpected {text[i]!r} at offset {i}")
            steps.append(_Field(name))
    return tuple(steps)


def _read_name(text: str, i: int) -> tuple[str, int]:
    out = []
    while i < len(text) and text[i] not in ".[":
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out), i


def _closing_bracket(text: str, start: int, source: str) -> int:
    depth, quote = 0, ""
    for i in range(start, len(text)):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return i
    raise JSONPathError(f"invalid JSONPath {source!r}: unclosed '['")


def _bracket(inner: str, source: str) -> Any:
    if inner == "*":
        return _Wildcard()
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        if re.search(r"['\"]\s*,\s*['\"]", inner):
            raise JSONPathError(f"unsupported JSONPath {source!r}: unions of keys are not supported")
        return _Field(inner[1:-1])
    if inner.startswith("?"):
        return _filter(inner, source)
    if "," in inner:
        raise JSONPathError(f"unsupported JSONPath {source!r}: unions of indexes are not supported")
    if ":" in inner:
        parts = inner.split(":")
        if len(parts) > 3:
            raise JSONPathError(f"invalid JSONPath {source!r}: bad slice [{inner}]")
        try:
            numbers = [int(p) if p.strip() else None for p in parts] + [None] * (3 - len(parts))
        except ValueError:
            raise JSONPathError(f"invalid JSONPath {source!r}: bad slice [{inner}]") from None
        if numbers[2] is not None and numbers[2] <= 0:
            raise JSONPathError(f"invalid JSONPath {source!r}: the step of slice [{inner}] must be > 0")
        return _Slice(*numbers)
    try:
        return _Index(int(inner))
    except ValueError:
        raise JSONPathError(f"invalid JSONPath {source!r}: bad index [{inner}]") from None


def _filter(inner: str, source: str) -> _Filter:
    if "&&" in inner or "||" in inner or "=~" in inner:
        raise JSONPathError(f"unsupported JSONPath {source!r}: filters with &&, || or =~ are not supported")
    match = _FILTER.match(inner)
    if not match:
        raise JSONPathError(f"invalid JSONPath filter [{inner}] in {source!r}")
    path, op, literal = match.groups()
    value: Any = None
    if op is not None:
        literal = literal.strip()
        if len(literal) >= 2 and literal[0] == literal[-1] and literal[0] in "'\"":
            value = literal[1:-1]
        elif _NUMBER.match(literal):
            value = float(literal) if "." in literal else int(literal)
        elif literal in ("true", "false"):
            value = literal == "true"
        else:
            raise JSONPathError(f"invalid JSONPath filter literal {literal!r} in {source!r}")
    return _Filter(parse_path(path or ""), op, value)


def evaluate(steps: tuple[Any, ...], data: Any) -> list[Any]:
    """Every value the path reaches from ``data`` (missing keys reach nothing)."""
    current = [data]
    for step in steps:
        current = [found for value in current for found in _step(step, value)]
    return current


def _step(step: Any, value: Any) -> Iterator[Any]:
    if isinstance(step, _Field):
        if step.recursive:
            yield from (v[step.name] for v in _descendants(value) if isinstance(v, dict) and step.name in v)
        elif isinstance(value, dict) and step.name in value:
            yield value[step.name]
    elif isinstance(step, _Wildcard):
        for v in _descendants(value) if step.recursive else [value]:
            if isinstance(v, dict):
                yield from v.values()
            elif isinstance(v, list):
                yield from v
    elif isinstance(step, _Index):
        if isinstance(value, list) and -len(value) <= step.index < len(value):
            yield value[step.index]
    elif isinstance(step, _Slice):
        if isinstance(value, list):
            yield from value[step.start:step.stop:step.step]
    elif isinstance(step, _Filter):
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
        yield from (item for item in items if _matches(step, item))


def _descendants(value: Any) -> Iterator[Any]:
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from _descendants(child)


def _matches(step: _Filter, item: Any) -> bool:
    found = evaluate(step.path, item)
    if step.op is None:
        return bool(found) and found[0] not in (None, False, "")
    if not found:
        return step.op == "!="
    left, right = found[0], step.value
    if isinstance(right, str) and not isinstance(left, str):
        left = render_value(left)
    try:
        return bool({"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
                     ">": left > right, ">=": left >= right}[step.op])
    except TypeError:
        return False


GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                            "\u2029": "\\u2029"})


def render_value(value: Any) -> str:
    """A value as kubectl prints it: strings bare, everything else as compact JSON with sorted keys
    and Go's escapes of <, > and &."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True).translate(GO_ESCAPES)


# ---- templates ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Expr:
    steps: tuple[Any, ...]


@dataclass(frozen=True)
class _Range:
    steps: tuple[Any, ...]
    body: tuple[Any, ...]


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


class Template:
    """A parsed ``-o jsonpath`` template; ``render(data)`` gives kubectl's text (no newline added)."""

    def __init__(self, template: str) -> None:
        self.source = template
        nodes, rest = self._parse(list(_actions(template)), top=True)
        assert not rest
        self.nodes = nodes

    def _parse(self, tokens: list[tuple[str, str]], top: bool) -> tuple[tuple[Any, ...], list[tuple[str, str]]]:
        nodes: list[Any] = []
        while tokens:
            kind, value = tokens.pop(0)
            if kind == "text":
                nodes.append(_Text(value))
                continue
            action = value.strip()
            if action == "end":
                if top:
                    raise JSONPathError(f"invalid JSONPath template {self.source!r}: {{end}} without {{range}}")
                return tuple(nodes), tokens
            if action.startswith("range ") or action.startswith("range\t"):
                body, tokens = self._parse(tokens, top=False)
                nodes.append(_Range(parse_path(action[6:]), body))
            elif len(action) >= 2 and action[0] == action[-1] and action[0] in "'\"":
                nodes.append(_Text(_unescape(action[1:-1])))
            else:
                nodes.append(_Expr(parse_path(action)))
        if not top:
            raise JSONPathError(f"invalid JSONPath template {self.source!r}: {{range}} without {{end}}")
        return tuple(nodes), []

    def render(self, data: Any) -> str:
        return "".join(self._render(self.nodes, data))

    def _render(self, nodes: tuple[Any, ...], data: Any) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, _Text):
                yield node.text
            elif isinstance(node, _Expr):
                yield " ".join(render_value(v) for v in evaluate(node.steps, data))
            else:
                for item in evaluate(node.steps, data):
                    yield from self._render(node.body, item)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def _actions(template: str) -> Iterator[tuple[str, str]]:
    """("text", literal) and ("action", inside-braces) tokens; braces inside quotes do not count."""
    i, start = 0, 0
    while i < len(template):
        if template[i] != "{":
            i += 1
            continue
        if i > start:
            yield "text", template[start:i]
        j, quote = i + 1, ""
        while j < len(template):
            char = template[j]
            if quote:
                if char == "\\":
                    j += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char == "}":
                break
            j += 1
        if j >= len(template):
            raise JSONPathError(f"invalid JSONPath template {template!r}: unclosed '{{'")
        yield "action", template[i + 1:j]
        i = start = j + 1
    if start < len(template):
        yield "text", template[start:]


def column_path(spec: str) -> tuple[Any, ...]:
    """A custom-columns path: ``.metadata.name`` or ``{.metadata.name}``."""
    spec = spec.strip()
    if spec.startswith("{") and spec.endswith("}"):
        spec = spec[1:-1]
    return parse_path(spec)
