"""Output of the command line: aligned tables, JSON/YAML/name, ages, colour.

Pure functions of plain data, so they are tested without a server. Tables follow kubectl's
alignment (each column as wide as its widest cell plus 3 spaces, at least 6), JSON is indented by
4 with sorted keys and YAML has sorted keys, as kubectl prints them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

import dynkube

from .jsonpath import GO_ESCAPES, column_path, evaluate, render_value

PADDING = 3
MIN_WIDTH = 6


# ---- colour ---------------------------------------------------------------------------

def colour_enabled(stream: TextIO) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (https://no-color.org) or TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


_CODES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "bold": "1", "dim": "2"}


def paint(text: str, colour: str, enabled: bool) -> str:
    return f"\x1b[{_CODES[colour]}m{text}\x1b[0m" if enabled and colour in _CODES else text


# ---- tables ---------------------------------------------------------------------------

def format_table(headers: Sequence[str] | None, rows: Iterable[Sequence[str]]) -> list[str]:
    """Lines of an aligned table (``headers=None``: no header line). Trailing blanks are trimmed."""
    grid = ([list(headers)] if headers is not None else []) + [list(r) for r in rows]
    if not grid:
        return []
    count = max(len(r) for r in grid)
    widths = [0] * count
    for row in grid:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in grid:
        parts = [cell.ljust(max(widths[i] + PADDING, MIN_WIDTH)) if i < len(row) - 1 else cell
                 for i, cell in enumerate(row)]
        lines.append("".join(parts).rstrip())
    return lines


def cell_text(value: Any) -> str:
    """A Table cell as kubectl shows it: null is empty, booleans lower case, lists comma-joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(cell_text(v) for v in value)
    if isinstance(value, dict):
        return render_value(value)
    return str(value)


def format_labels(labels: Mapping[str, str] | None) -> str:
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def human_age(timestamp: str | None, now: dt.datetime | None = None) -> str:
    """A creationTimestamp as an age the way kubectl shortens it ("45s", "3m20s", "5h", "12d")."""
    if not timestamp:
        return "<unknown>"
    try:
        then = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    now = now or dt.datetime.now(dt.timezone.utc)
    return human_duration(int((now - then).total_seconds()))


def human_duration(seconds: int) -> str:
    """Seconds as kubectl's short duration: more precision for young objects, less for old ones."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 730:
        return f"{days}d"
    years = days // 365
    if days < 2920:
        return f"{years}y{days % 365}d" if days % 365 else f"{years}y"
    return f"{years}y"


# ---- objects --------------------------------------------------------------------------

def qualified_kind(api_version: str, kind: str) -> str:
    """``deployment.apps``, ``configmap`` (core), ``gizmo.fixtures.dynkube.io``: kubectl's -o name prefix."""
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return f"{kind.lower()}.{group}" if group else kind.lower()


def object_name(obj: Mapping[str, Any]) -> str:
    """``kind.group/name`` of an object (``-o name``)."""
    metadata = obj.get("metadata") or {}
    return f"{qualified_kind(str(obj.get('apiVersion') or ''), str(obj.get('kind') or ''))}/{metadata.get('name', '')}"


def without_managed_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy without ``metadata.managedFields`` (kubectl hides them unless --show-managed-fields)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping) or "managedFields" not in metadata:
        return dict(obj)
    return {**obj, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


def as_list(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Several objects as kubectl prints them: a v1 ``List``."""
    return {"apiVersion": "v1", "items": list(items), "kind": "List", "metadata": {"resourceVersion": ""}}


def dump_json(document: Any) -> str:
    """kubectl's JSON: 4-space indent, sorted keys, UTF-8, and Go's escapes of <, >, & (which can only
    occur inside strings, so translating the whole text is exact)."""
    return json.dumps(document, indent=4, sort_keys=True, ensure_ascii=False).translate(GO_ESCAPES) + "\n"


def dump_yaml(document: Any) -> str:
    return dynkube.objects.dump_yaml(document)  # the library's kubectl-style YAML, as ApiObject.to_yaml()


def custom_columns(spec: str) -> list[tuple[str, tuple[Any, ...]]]:
    """``NAME:.metadata.name,NS:.metadata.namespace`` as (header, path) pairs."""
    columns = []
    for part in _split_columns(spec):
        header, sep, path = part.partition(":")
        if not sep or not header or not path.strip():
            raise ValueError(f"custom-columns format is HEADER:JSONPATH[,HEADER:JSONPATH...], got {part!r}")
        columns.append((header, column_path(path)))
    if not columns:
        raise ValueError("custom-columns needs at least one HEADER:JSONPATH")
    return columns


def _split_columns(spec: str) -> list[str]:
    parts: list[str] = []
    depth, current = 0, []  # type: tuple[int, list[str]]
    for char in spec:
        if char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        parts.append("".join(current))
    return [p for p in parts if p.strip()]


def custom_column_row(columns: Sequence[tuple[str, tuple[Any, ...]]], obj: Any) -> list[str]:
    """One row: each path's values comma-joined, ``<none>`` when a path reaches nothing."""
    row = []
    for _, path in columns:
        values = evaluate(path, obj)
        row.append(",".join(render_value(v) for v in values) if values else "<none>")
    return row


def age(when: dt.datetime | None, now: dt.datetime) -> str:
    """kubectl's age of a time: ``45s``, ``3m``, ``2d``; ``<unknown>`` without one."""
    return "<unknown>" if when is None else human_duration(int((now - when).total_seconds()))
