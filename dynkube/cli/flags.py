"""kubectl's flag forms for argparse: flags whose value follows an ``=`` (``--dry-run[=server]``) and
boolean flags (``--flag``, ``--flag=false``) in Go's spellings."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(value: str) -> bool:
    """A flag's boolean value, spelled as Go's strconv.ParseBool (so kubectl) takes it."""
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise argparse.ArgumentTypeError(f"expected true or false, not {value!r}")



class ValueAfterEquals(argparse.Action):
    """An option whose value, when given, follows an ``=`` (pflag's flags with a value for bare use):
    a bare ``--dry-run`` is ``--dry-run=<const>``, and the argument after it is never its value
    (``delete --wait cm a``, ``create --dry-run configmap x``), as with kubectl."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs="?", **kwargs)
        self.bare = "true" if self.const is True else str(self.const)  # what "--flag" alone is rewritten to

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)


class BoolFlag(ValueAfterEquals):
    """A kubectl boolean flag: ``--flag`` (true) or ``--flag=BOOL`` in Go's ``strconv.ParseBool``
    spellings (1, t, T, TRUE, true, True and 0, f, F, FALSE, false, False)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("default", False)
        kwargs.setdefault("metavar", "BOOL")
        super().__init__(option_strings, dest, const=True, type=parse_bool, **kwargs)
