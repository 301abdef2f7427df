"""``get``'s kubectl options beyond the basics: ``--sort-by``, ``-o jsonpath-as-json``, ``-o jsonpath-file``,
``-o custom-columns-file`` (the file forms are read here and become the inline forms)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dynkube

from .context import UsageError
from .jsonpath import JSONPathError, column_path, evaluate
from .printing import dump_json


def read_output_file(kind: str, path: str) -> str:
    """The inline argument of ``-o jsonpath-file=PATH`` (the template) or ``-o custom-columns-file=PATH``
    (kubectl's two lines, headers then paths, separated by blanks, as HEADER:PATH,...)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"-o {kind}: cannot read {path}: {reason}") from None
    if kind == "jsonpath-file":
        return text  # its final newline is text of the template, as for kubectl
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) != 2 or len(lines[0]) != len(lines[1]):
        raise UsageError(f"-o custom-columns-file: {path} must hold two lines, the headers and as many JSONPaths")
    return ",".join(f"{header}:{path_}" for header, path_ in zip(*lines))


def as_json(template: str, document: Any) -> str:
    """``-o jsonpath-as-json``: every value one JSONPath expression reaches, as a JSON list."""
    try:
        steps = column_path(template)
    except JSONPathError as exc:
        raise UsageError(str(exc)) from None
    return dump_json(evaluate(steps, document))


def sort_path(spec: str) -> tuple[Any, ...]:
    try:
        return column_path(spec)
    except JSONPathError as exc:
        raise UsageError(f"--sort-by: {exc}") from None


def sorted_objects(objects: Sequence[dict[str, Any]], steps: tuple[Any, ...], spec: str) -> list[dict[str, Any]]:
    """The objects in the order of the value at ``steps`` (numbers by value, the rest as text; objects
    without it first, as kubectl); an error if no object has it."""
    keys = [evaluate(steps, obj) for obj in objects]
    if objects and not any(keys):
        braced = spec if spec.strip().startswith("{") else "{" + spec.strip() + "}"
        raise dynkube.InvalidInput(f"couldn't find any field with path \"{braced}\" in the list of objects")
    order = sorted(range(len(objects)), key=lambda i: _key(keys[i]))
    return [objects[i] for i in order]


def _key(found: list[Any]) -> tuple[int, float, str]:
    if not found or found[0] is None:
        return (0, 0.0, "")
    value = found[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (2, 0.0, value if isinstance(value, str) else dump_json(value))
    return (1, float(value), "")
