"""Validation: a converted schema compiled once (``jsonschema`` imported on first use), its errors as
``ValidationIssue``s with server-style field paths, and secret values never quoted in a message."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .convert import CLOSED, GO_INTEGER, SECRET, UNIQUE
from .formats import FORMAT_CHECKS, PUBLIC_FORMAT
from .models import DEFS_REF, suggest

log = logging.getLogger(__name__)

_HIDDEN = "<secret>"  # what a message shows instead of a secret value


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem found in an object.

    ``path`` is a field path as the server writes it (``spec.template.spec.containers[0].image``,
    ``metadata.labels[app.kubernetes.io/name]``; ``""`` for the object itself); ``keyword`` is the JSON
    Schema keyword that failed (``type``, ``required``, ``enum``, ...) or ``unknown-field``.
    """

    path: str
    message: str
    keyword: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@functools.cache
def _validator_class() -> Any:
    """Draft 2020-12 with Kubernetes semantics: null = unset, unknown fields reported by ``x-dynkube-closed``."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def properties(validator: Any, props: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        for name, sub in props.items():
            if instance.get(name) is not None:  # the server drops null fields before validating
                yield from validator.descend(instance[name], sub, path=name, schema_path=name)

    def additional(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        declared = schema.get("properties", {})
        names = [k for k in instance if k not in declared]
        if extra is False and names:
            yield ValidationError(f"unexpected properties {', '.join(map(repr, names))}")
        elif isinstance(extra, dict):
            for name in names:
                if instance[name] is not None:
                    yield from validator.descend(instance[name], extra, path=name)

    def required(validator: Any, names: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        declared = schema.get("properties", {})
        for name in names:
            if instance.get(name) is None and not _allows_null(declared.get(name)):
                yield ValidationError("Required value", path=[name])

    def closed(validator: Any, _value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        declared = schema.get("properties", {})
        for name in instance:
            if name not in declared:
                yield ValidationError(_unknown_field_message(name, declared), path=[name])

    def go_integer(validator: Any, _value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if isinstance(instance, float) and instance.is_integer():  # other floats already fail "type"
            yield ValidationError(f"{instance!r} is not of type 'integer'")

    def unique(validator: Any, keys: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "array"):
            return
        seen: set[str] = set()
        for index, item in enumerate(instance):
            if keys is True:
                value = item
            elif isinstance(item, Mapping):
                value = {k: item[k] for k in keys if k in item}
            else:
                continue
            key = json.dumps(value, sort_keys=True, separators=(",", ":"))
            if key in seen:
                yield ValidationError(f"Duplicate value: {key}", path=[index])
            seen.add(key)

    return validators.extend(Draft202012Validator, {  # type: ignore[no-untyped-call]
        "properties": properties, "additionalProperties": additional, "required": required, CLOSED: closed,
        GO_INTEGER: go_integer, UNIQUE: unique,
    })


def _allows_null(schema: Any) -> bool:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


def _unknown_field_message(name: str, declared: Mapping[str, Any]) -> str:
    close = suggest(name, list(declared))
    quoted = " or ".join(f'"{c}"' for c in close)
    hint = f"; did you mean {quoted}?" if close else ""
    return f'unknown field "{name}"{hint}'


@functools.cache
def _format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in FORMAT_CHECKS.items():
        checker.checks(name)(lambda value, check=check: not isinstance(value, str) or check(value))
    return checker


class CompiledSchema:
    """One kind's converted schema and its compiled validator; safe to share between threads."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        cls = _validator_class()
        self._validator = cls(schema, format_checker=_format_checker())
        self._secrets = _Secrets(schema) if _holds_secret(schema, schema, set()) else None

    def issues(self, obj: Any, *, strict: bool = False) -> list[ValidationIssue]:
        """Every problem in ``obj``; unknown fields are errors only when ``strict`` (else logged)."""
        found: list[ValidationIssue] = []
        unknown: list[ValidationIssue] = []
        for error in sorted(self._validator.iter_errors(obj), key=_error_order):
            issue = _issue(error, hide=self._secrets is not None and self._secrets.touched_by(error))
            (unknown if issue.keyword == "unknown-field" and not strict else found).append(issue)
        if unknown:
            log.warning("unknown fields (ignored by the server unless fieldValidation=Strict): %s",
                        "; ".join(map(str, unknown)))
        return found


def _error_order(error: Any) -> tuple[tuple[int, int, str], ...]:
    """Sort by field path, array indexes numerically (``[2]`` before ``[10]``)."""
    return tuple((0, step, "") if isinstance(step, int) else (1, 0, str(step)) for step in error.absolute_path)


_KEYWORDS = {CLOSED: "unknown-field", GO_INTEGER: "type", UNIQUE: "x-kubernetes-list-type"}


def _issue(error: Any, *, hide: bool = False) -> ValidationIssue:
    """The issue for a jsonschema error; with ``hide`` its message does not quote the value at fault."""
    keyword = _KEYWORDS.get(error.validator, str(error.validator))
    if hide:
        message = _hidden_message(error)
    elif keyword == "format":
        message = f"{error.instance!r} is not a {_public_format(error)!r}"
    else:
        message = error.message
    return ValidationIssue(_field_path(error), message, keyword)


def _public_format(error: Any) -> str:
    private = str(error.validator_value)
    return PUBLIC_FORMAT.get(private, private.partition(":")[2] or private)


_VALUE_FREE = frozenset({"required", "additionalProperties", "const", CLOSED})  # messages that never quote it


def _hidden_message(error: Any) -> str:
    """A message for a failed keyword that shows ``<secret>`` where jsonschema would quote the value."""
    keyword, rule = error.validator, error.validator_value
    if keyword in _VALUE_FREE:
        return str(error.message)
    if keyword == "format":
        return f"{_HIDDEN} is not a {_public_format(error)!r}"
    if keyword in ("type", GO_INTEGER):
        types = ["integer"] if keyword == GO_INTEGER else rule if isinstance(rule, list) else [rule]
        return f"{_HIDDEN} is not of type {', '.join(map(repr, types))}"
    texts = {
        "enum": f"is not one of {rule!r}", "pattern": f"does not match {rule!r}",
        "minLength": f"is shorter than {rule} characters", "maxLength": f"is longer than {rule} characters",
        "minimum": f"is less than the minimum of {rule!r}", "maximum": f"is more than the maximum of {rule!r}",
        "exclusiveMinimum": f"is not more than {rule!r}", "exclusiveMaximum": f"is not less than {rule!r}",
        "multipleOf": f"is not a multiple of {rule!r}", UNIQUE: "is a duplicate value",
        "minItems": f"has fewer than {rule} items", "maxItems": f"has more than {rule} items",
        "minProperties": f"has fewer than {rule} properties", "maxProperties": f"has more than {rule} properties",
    }
    return f"{_HIDDEN} {texts.get(keyword, f'is not valid under {keyword!r}')}"


class _Secrets:
    """Which errors of a schema that marks secrets (``x-dynkube-secret``) must not quote their value."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def touched_by(self, error: Any) -> bool:
        """True when the value at fault is a secret, is inside one, or holds one (a parent object's
        ``anyOf`` or ``maxProperties`` message would quote the whole object)."""
        node: Any = self.root
        for token in error.absolute_schema_path:
            if isinstance(node, dict) and node.get(SECRET):
                return True
            node = self._step(node, token)
            if node is None:
                break
        return _holds_secret(error.schema, self.root, set())

    def _step(self, node: Any, token: Any) -> Any:
        if token == "$ref" and isinstance(node, dict):
            return _resolve_def(self.root, node.get("$ref"))
        if isinstance(node, dict):
            return node.get(token)
        if isinstance(node, list) and isinstance(token, int) and token < len(node):
            return node[token]
        return None


def _resolve_def(root: Mapping[str, Any], ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith(DEFS_REF):
        return None
    return root.get("$defs", {}).get(ref[len(DEFS_REF):])


def _holds_secret(node: Any, root: Mapping[str, Any], seen: set[int]) -> bool:
    """True when a converted schema node, or any node below it (references followed), is marked secret."""
    if isinstance(node, list):
        return any(_holds_secret(child, root, seen) for child in node)
    if not isinstance(node, dict) or id(node) in seen:
        return False
    seen.add(id(node))
    if node.get(SECRET):
        return True
    if "$ref" in node and _holds_secret(_resolve_def(root, node["$ref"]), root, seen):
        return True
    return any(_holds_secret(child, root, seen) for key, child in node.items() if key != "$defs")


def _field_path(error: Any) -> str:
    """``spec.containers[0].ports[0].containerPort``; map keys as ``labels[key]`` (from the schema path)."""
    steps = list(error.absolute_path)
    keys = _map_key_steps(list(error.absolute_schema_path), len(steps))
    text = ""
    for i, step in enumerate(steps):
        if isinstance(step, int) or i in keys:
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def _map_key_steps(schema_path: list[Any], count: int) -> set[int]:
    """Which instance steps were map keys: those entered through additionalProperties/patternProperties."""
    keys: set[int] = set()
    step = 0
    tokens = iter(schema_path)
    for token in tokens:
        if step >= count:
            break
        if token in ("properties", "patternProperties"):
            next(tokens, None)
            if token == "patternProperties":
                keys.add(step)
            step += 1
        elif token == "additionalProperties":
            keys.add(step)
            step += 1
        elif token in ("items", "prefixItems", "contains"):
            step += 1
    return keys
