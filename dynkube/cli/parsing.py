"""The argument parsers of the CLI: a usage error is one line, no flag is abbreviated, and a command's
options and names may be interleaved, as kubectl's."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from .context import UsageError
from .flags import ValueAfterEquals


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line instead of printing usage and exiting, and
    that takes no abbreviated flags (``--force`` is not ``--force-conflicts``, ``--all`` not
    ``--all-namespaces``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        """As argparse's, with each bare ``ValueAfterEquals`` flag given its value for bare use after
        an ``=``, so that argparse never takes the next argument as its value."""
        return super().parse_known_args(self._explicit_values(sys.argv[1:] if args is None else list(args)),
                                        namespace)

    def _explicit_values(self, args: list[str]) -> list[str]:
        for index, arg in enumerate(args):
            if arg == "--":
                break
            action = self._option_string_actions.get(arg)
            if isinstance(action, ValueAfterEquals):
                args[index] = f"{arg}={action.bare}"
        return args

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        """As argparse's, but unknown flags of a command point at that command's ``--help``."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            prog = f"{self.prog} {command}" if command else self.prog
            raise UsageError(f"unrecognized arguments: {' '.join(extras)} (see '{prog} --help')")
        return parsed


class CommandParser(Parser):
    """A command's parser: options and names may be interleaved (``get cm -n web cfg``), as with kubectl.
    A command with subcommands (``config``) leaves that to the subcommand's parser."""

    _intermixing = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._intermixing or self._subparsers is not None:  # intermixed parsing calls back into this
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False
