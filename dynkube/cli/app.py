"""The parser (every command module registers its own) and ``main``: the one place errors become exit
codes and stderr lines. The top of the CLI: it imports the command modules, and none of them imports it."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import TextIO

import dynkube

from . import (api_resources, api_versions, apply, attach, auth, completion, cordon, cp, create,
               delete, describe, diff, drain, edit, events, explain, export, get, kubeconfig, label, logs, patch,
               port_forward, replace, rollout, scale, snapshot, stubs, tree, validate, version, wait)
from . import exec as exec_
from .context import CommandFailed, Context, UsageError, describe_error, one_line
from .options import add_global_options
from .parsing import CommandParser, Parser
from .printing import paint

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for kubectl cut short by `| head`

COMMANDS = (api_resources, api_versions, version, get, apply, delete, explain, tree, export, snapshot, validate,
            stubs, events, describe, wait, diff, rollout, cordon, drain, exec_, attach, port_forward, cp, patch,
            label, scale, logs, auth)
"""The command modules, in the order ``dynkube --help`` lists them (then completion, edit, replace,
create and config)."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="dynkube", description="Explore and manage any Kubernetes cluster, any kind.")
    parser.add_argument("--version", action="version", version=f"dynkube {dynkube.__version__}")
    add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)

    def command(name: str, handler: Callable[[Context], int | None], help_text: str,
                epilog: str | None = None) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        add_global_options(p, top=False)
        p.set_defaults(handler=handler)
        return p

    for module in COMMANDS:
        module.register(command)
    completion.register(command, sub)
    for module in (edit, replace, create, kubeconfig):
        module.register(command)
    return parser


# ---- running --------------------------------------------------------------------------

class _Formatter(logging.Formatter):
    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        message = one_line(record.getMessage())
        if self.verbose:
            return f"{self.formatTime(record, '%H:%M:%S')} {record.levelname.lower()} {record.name}: {message}"
        return f"{record.levelname.lower()}: {message}"


def _output_closed(ctx: Context, out: TextIO) -> int:
    """The exit code when the reader of our output went away: 0 for a read, 141 for a change cut short."""
    _silence_stdout(out)
    if getattr(ctx.args, "mutates", False):
        ctx.error(f"error: the output was closed before 'dynkube {ctx.args.command}' finished: "
                  "it stopped there, and later objects were not processed")
        return EXIT_BROKEN_PIPE
    return EXIT_OK


def _silence_stdout(out: TextIO) -> None:
    """Point a closed pipe's descriptor at /dev/null so the interpreter's final flush stays quiet."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _log_level(verbosity: int) -> int:
    if verbosity >= 6:
        return logging.DEBUG
    return logging.INFO if verbosity >= 1 else logging.WARNING


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 API or user error, 2 bad usage, 130 interrupted)."""
    out, err = sys.stdout, sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except UsageError as exc:
        err.write(f"error: {one_line(str(exc))}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if not getattr(args, "handler", None):
        parser.print_help(out)
        return EXIT_USAGE

    logger = logging.getLogger("dynkube")
    handler = logging.StreamHandler(err)
    handler.setFormatter(_Formatter(args.verbosity >= 1))
    saved_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(_log_level(args.verbosity))
    ctx = Context(args, out, err, parser)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", dynkube.ServerWarning)
            warnings.showwarning = lambda message, *rest, **kw: ctx.error(f"Warning: {message}")
            return args.handler(ctx) or EXIT_OK
    except UsageError as exc:
        ctx.error(f"error: {exc} (see 'dynkube {args.command} --help')")
        return EXIT_USAGE
    except CommandFailed:
        return EXIT_ERROR
    except dynkube.DynkubeError as exc:
        if isinstance(exc.__cause__, BrokenPipeError):  # e.g. ApplyIncomplete: our own output went away
            return _output_closed(ctx, out)
        if args.debug:
            traceback.print_exc(file=err)
        ctx.error(paint(describe_error(exc), "red", ctx.err_colour))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `dynkube get ... | head`: the reader has what it wanted
        return _output_closed(ctx, out)
    except Exception as exc:
        if args.debug:
            traceback.print_exc(file=err)
        ctx.error(f"error: internal error: {exc.__class__.__name__}: {exc} (run with --debug for the traceback)")
        return EXIT_ERROR
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)
        ctx.close()
