"""The option enums of the verbs (patch type, field validation, propagation), and the one
conversion of a user's string to them, done at the public edge."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

from .errors import InvalidInput


class PatchType(enum.StrEnum):
    """The four patch content types the API server accepts."""

    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class FieldValidation(enum.StrEnum):
    """Server-side field validation of writes (kubectl --validate)."""

    STRICT = "Strict"
    WARN = "Warn"
    IGNORE = "Ignore"


class PropagationPolicy(enum.StrEnum):
    """What happens to dependents on delete (kubectl --cascade)."""

    BACKGROUND = "Background"
    FOREGROUND = "Foreground"
    ORPHAN = "Orphan"


PATCH_ALIASES = {"json": PatchType.JSON, "merge": PatchType.MERGE, "strategic": PatchType.STRATEGIC,
                 "apply": PatchType.APPLY}

E = TypeVar("E", bound=enum.Enum)


def to_enum(cls: type[E], value: Any, what: str, aliases: Mapping[str, E] | None = None) -> E | None:
    """Convert a user's string (any case, alias or wire value) to ``cls`` once, at the public edge;
    None stays None; anything else raises InvalidInput listing the choices."""
    if value is None or isinstance(value, cls):
        return value
    if isinstance(value, str):
        if aliases and value.lower() in aliases:
            return aliases[value.lower()]
        for member in cls:
            if value.lower() in (member.name.lower(), str(member.value).lower()):
                return member
    choices = ", ".join(m.name.lower() for m in cls)
    raise InvalidInput(f"unknown {what} {value!r}; expected one of: {choices}")
