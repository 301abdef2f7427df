"""The parser (every command's flags and handler) and ``main``: the one place errors become exit codes and
stderr lines. The top of the CLI: it imports the command modules, and none of them imports it."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

import dynkube

from . import (auth, change, commands, completion, create, edit, export, get, kubeconfig, logs, raw, replace, snapshot,
               streams, stubs, tools)
from .context import CommandFailed, Context, UsageError, describe_error, one_line
from .flags import BoolFlag, ValueAfterEquals
from .printing import paint

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for kubectl cut short by `| head`
MAX_DURATION = 9223372036.0  # seconds: Go's longest time.Duration, so kubectl's limit too


class _Parser(argparse.ArgumentParser):
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


class _CommandParser(_Parser):
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


# ---- the parser -----------------------------------------------------------------------

def _timeout(value: str) -> float | None:
    """kubectl's --request-timeout: "0" (none), a number of seconds, or 1h2m3s / 500ms durations."""
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise argparse.ArgumentTypeError(f"invalid duration {value!r} (examples: 30, 30s, 1m, 500ms)")
        scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
        seconds = sum(float(n) * scale[u] for n, u in parts)
    if seconds > MAX_DURATION:
        raise argparse.ArgumentTypeError(f"duration {value!r} is too long (at most {MAX_DURATION:.0f}s, "
                                         "about 292 years)")
    return seconds or None


def _add_global_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """Global flags, accepted before or after the command (as kubectl's)."""
    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("global options")
    group.add_argument("--kubeconfig", metavar="PATH", default=default(None),
                       help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else in-cluster)")
    group.add_argument("--context", metavar="NAME", default=default(None), help="kubeconfig context to use")
    group.add_argument("-n", "--namespace", metavar="NS", default=default(None),
                       help="namespace (default: the context's, else 'default')")
    group.add_argument("--request-timeout", metavar="DURATION", type=_timeout, default=default(None),
                       help="bound of each request, its retries included, e.g. 30s (for --watch: how long to watch)")
    group.add_argument("-v", "--v", dest="verbosity", metavar="LEVEL", type=int, default=default(0),
                       help="log level: 0 warnings, 1-5 info (retries), 6+ every request (secrets redacted)")
    group.add_argument("--debug", action=BoolFlag, default=default(False), help="show tracebacks of errors")
    group.add_argument("--snapshot", metavar="FILE", default=default(None),
                       help="answer from a snapshot file (discovery, schemas), offline: see docs/snapshots.md")
    flags = parser.add_argument_group("connection options (over the kubeconfig's context, as kubectl's)")
    for flag, dest, metavar, text in (
            ("-s --server", "server", "URL", "the API server's address"),
            ("--cluster", "cluster", "NAME", "the kubeconfig cluster entry to use"),
            ("--user", "user", "NAME", "the kubeconfig user entry to use"),
            ("--token", "token", "TOKEN", "bearer token (never logged or shown)"),
            ("--certificate-authority", "certificate_authority", "FILE", "CA certificate file"),
            ("--client-certificate", "client_certificate", "FILE", "client certificate file"),
            ("--client-key", "client_key", "FILE", "client key file"),
            ("--tls-server-name", "tls_server_name", "NAME", "server name to verify the certificate against"),
            ("--as", "impersonate", "USER", "impersonate this user"),
            ("--as-uid", "impersonate_uid", "UID", "impersonate this uid")):
        flags.add_argument(*flag.split(), dest=dest, metavar=metavar, default=default(None), help=text)
    flags.add_argument("--as-group", dest="impersonate_groups", action="append", metavar="GROUP",
                       default=default(None), help="impersonate this group")
    flags.add_argument("--insecure-skip-tls-verify", action=BoolFlag, default=default(False),
                       help="do not verify the server's certificate (insecure; =false: verify, the default)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dynkube", description="Explore and manage any Kubernetes cluster, any kind.")
    parser.add_argument("--version", action="version", version=f"dynkube {dynkube.__version__}")
    _add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)

    def command(name: str, handler: Callable[[Context], int | None], help_text: str,
                epilog: str | None = None) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_global_options(p, top=False)
        p.set_defaults(handler=handler)
        return p

    p = command("api-resources", commands.api_resources, "List the resources the server serves.",
                "examples:\n  dynkube api-resources --api-group=apps -o wide\n"
                "  dynkube api-resources --namespaced=false --verbs=list -o name")
    p.add_argument("--namespaced", action=BoolFlag, default=None,
                   help="only namespaced (true) or cluster-scoped (false) resources")
    p.add_argument("--api-group", metavar="GROUP", help="only this API group ('' for the core group)")
    p.add_argument("--verbs", action="append", default=[], metavar="VERBS",
                   help="only resources supporting all these verbs (comma-separated)")
    p.add_argument("--categories", action="append", default=[], metavar="CATEGORY",
                   help="only resources in these categories")
    p.add_argument("--sort-by", choices=("name", "kind"), help="sort by name or kind instead of group")
    p.add_argument("--no-headers", action="store_true", help="omit the header line")
    p.add_argument("-o", "--output", choices=("wide", "name", "json", "yaml"), help="output format")
    _add_cached_option(p)

    _add_cached_option(command("api-versions", commands.api_versions, "List the group/versions the server serves."))

    p = command("version", commands.version, "Show the client and server versions.")
    p.add_argument("--client", action="store_true", help="client version only (no server request)")
    p.add_argument("-o", "--output", choices=("json", "yaml"), help="output format")

    p = command("get", raw.unless_raw(get.get), "Show objects of any kind.",
                "examples:\n  dynkube get pods\n  dynkube get deploy,svc -n web -o wide\n"
                "  dynkube get all -A\n  dynkube get gizmos g1 -o yaml\n"
                "  dynkube get cm -o jsonpath='{range .items[*]}{.metadata.name}{\"\\n\"}{end}'\n"
                "  dynkube get pods -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName\n"
                "  dynkube get configmaps --watch\n  dynkube get --raw '/readyz?verbose'")
    raw.add_raw_option(p)
    p.add_argument("targets", nargs="*", metavar="RESOURCE[,RESOURCE...] [NAME...] | TYPE/NAME...")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="objects of every namespace")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="label selector, e.g. app=web,tier!=db")
    p.add_argument("--field-selector", metavar="SELECTOR", help="field selector, e.g. status.phase=Running")
    p.add_argument("-o", "--output", metavar="FORMAT",
                   help="json|yaml|name|wide|jsonpath=TEMPLATE|jsonpath-as-json=PATH|jsonpath-file=FILE|"
                        "custom-columns=SPEC|custom-columns-file=FILE")
    p.add_argument("-w", "--watch", action="store_true", help="after listing, print changes as they happen")
    p.add_argument("--watch-only", action="store_true", help="print changes only, without listing first")
    p.add_argument("--no-headers", action="store_true", help="omit table headers")
    p.add_argument("--show-labels", action="store_true", help="add a LABELS column")
    p.add_argument("-L", "--label-columns", action="append", default=[], metavar="KEYS",
                   help="add a column per label key (comma-separated)")
    p.add_argument("--show-managed-fields", action="store_true", help="keep metadata.managedFields in json/yaml")
    p.add_argument("--chunk-size", type=int, default=500, metavar="N", help="objects per list request (0: all)")
    p.add_argument("--sort-by", metavar="JSONPATH", help="sort by this field, e.g. .metadata.creationTimestamp")
    p.add_argument("--show-kind", action="store_true", help="prefix names with their kind, even for one kind")
    p.add_argument("--ignore-not-found", action="store_true", help="named objects that do not exist are no error")
    p.add_argument("--output-watch-events", action="store_true",
                   help="with --watch: print each change's type (ADDED, MODIFIED, DELETED)")
    p.add_argument("--server-print", action=BoolFlag, default=True,
                   help="false: NAME and AGE columns from the objects instead of the server's table")
    p.add_argument("--subresource", choices=("status", "scale"), help="show this subresource of the named objects")
    _add_file_options(p, required=False)

    p = command("apply", commands.apply, "Create or update objects from manifests (server-side apply).",
                "examples:\n  dynkube apply -f stack.yaml\n  dynkube apply -f manifests/ -R --dry-run=server\n"
                "  cat app.yaml | dynkube apply -f - --field-manager=ci --force-conflicts")
    _add_file_options(p)
    p.set_defaults(mutates=True)
    p.add_argument("--field-manager", default="dynkube", metavar="NAME", help="field manager (default dynkube)")
    p.add_argument("--force-conflicts", action="store_true", help="take over fields owned by other managers")
    p.add_argument("--server-side", action=BoolFlag, default=True,
                   help="accepted as kubectl's: dynkube always applies server-side (false is refused)")
    p.add_argument("--dry-run", action=ValueAfterEquals, const="server", choices=("none", "server", "client"),
                   help="'server': the server checks and answers without persisting")
    p.add_argument("--validate", action=ValueAfterEquals, const="true", metavar="MODE",
                   choices=("true", "false", "strict", "warn", "ignore"),
                   help="true: check each object against the server's schema before sending; "
                        "strict (default)/warn/ignore: the server's field validation")

    p = command("delete", raw.unless_raw(commands.delete), "Delete objects by type and name, selector, or manifests.",
                "examples:\n  dynkube delete configmap cfg1 cfg2\n  dynkube delete -f stack.yaml\n"
                "  dynkube delete deploy web --cascade=foreground --wait=false\n"
                "  dynkube delete --raw /api/v1/namespaces/web/configmaps/cfg1")
    raw.add_raw_option(p)
    p.add_argument("targets", nargs="*", metavar="RESOURCE [NAME...] | TYPE/NAME...")
    _add_file_options(p, required=False)
    p.set_defaults(mutates=True)
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="delete the objects matching this label selector")
    p.add_argument("--field-selector", metavar="SELECTOR", help="delete the objects matching this field selector")
    p.add_argument("--all", action="store_true", help="delete every object of the type in the namespace")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="with -l/--all: in every namespace")
    p.add_argument("--cascade", action=ValueAfterEquals, const="background",
                   choices=("background", "foreground", "orphan", "true", "false"),
                   help="what happens to dependents (default background)")
    p.add_argument("--wait", action=BoolFlag, default=True,
                   help="wait until the objects are gone (default true)")
    p.add_argument("--timeout", type=_timeout, metavar="DURATION", help="how long --wait waits (default: no limit)")
    p.add_argument("--grace-period", type=int, metavar="SECONDS", help="seconds the objects get to terminate")
    p.add_argument("--ignore-not-found", action="store_true", help="objects already gone are not an error")
    p.add_argument("--dry-run", action=ValueAfterEquals, const="server", choices=("none", "server"),
                   help="'server': the server checks the deletion without doing it")

    p = command("explain", commands.explain, "Describe a kind or one of its fields, from the server's schema.",
                "examples:\n  dynkube explain deployment.spec.strategy\n  dynkube explain gizmos --recursive")
    p.add_argument("path", metavar="RESOURCE[.field.path]")
    p.add_argument("--recursive", action="store_true", help="every nested field")
    p.add_argument("--api-version", metavar="GROUP/VERSION", help="explain this version of the kind")

    p = command("tree", commands.tree, "What the cluster serves, grouped by API group (with object counts); "
                "with an object, everything it owns.",
                "examples:\n  dynkube tree\n  dynkube tree --count\n  dynkube tree --api-group=apps -o json\n"
                "  dynkube tree deployment web\n  dynkube tree pod/web-1 --root")
    p.add_argument("targets", nargs="*", metavar="KIND NAME | KIND/NAME",
                   help="an object: draw what it owns (its ownership tree) instead of the overview")
    p.add_argument("--root", action="store_true", help="with an object: start from its root owner")
    p.add_argument("--count", action="store_true", help="count the objects of each listable resource")
    p.add_argument("--api-group", metavar="GROUP", help="only this API group ('' or 'core' for the core group)")
    p.add_argument("-o", "--output", choices=("json", "yaml"), help="output format")
    p.add_argument("-A", "--all-namespaces", action="store_true",
                   help="with --count: count in every namespace (the default unless -n is given)")
    _add_cached_option(p)
    _add_export_commands(command)
    _add_tool_commands(command)
    _add_stream_commands(command)
    _add_change_commands(command)
    _add_logs_command(command)

    auth.register(command, _add_global_options, _CommandParser)
    completion.register(command, sub)
    edit.register(command)
    replace.register(command)
    create.register(command, _add_global_options, _CommandParser)
    kubeconfig.register(command, _add_global_options, _CommandParser)
    return parser


def _add_stream_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """exec, attach, port-forward, cp (dynkube.cli.streams)."""

    p = command("exec", streams.exec_command, "Run a command in a container; its exit code becomes dynkube's.",
                "examples:\n  dynkube exec web-0 -- ls /\n  dynkube exec -it deploy/web -c app -- sh")
    p.add_argument("pod", metavar="POD|TYPE/NAME", help="a pod, or a workload (deploy/web, svc/web) to pick one of")
    p.add_argument("cmd", nargs="*", metavar="-- COMMAND [ARG...]", help="the command and its arguments")
    _add_stream_options(p)
    p = command("attach", streams.attach_command, "Attach to the main process of a running container.",
                "examples:\n  dynkube attach web-0\n  dynkube attach -it web-0 -c app")
    p.add_argument("pod", metavar="POD|TYPE/NAME", help="a pod, or a workload (deploy/web, svc/web) to pick one of")
    _add_stream_options(p)
    p = command("port-forward", streams.port_forward_command,
                "Forward local ports to a pod (or a pod of a Service or workload) until interrupted.",
                "examples:\n  dynkube port-forward pod/web-0 8080:80\n  dynkube port-forward svc/web :80\n"
                "  dynkube port-forward deploy/web 5000 6000:6001 --address 0.0.0.0")
    p.add_argument("target", metavar="POD|TYPE/NAME", help="pod/NAME, svc/NAME, deploy/NAME, ...")
    p.add_argument("ports", nargs="+", metavar="[LOCAL:]REMOTE", help="ports to forward (LOCAL 0 or empty: a free one)")
    p.add_argument("--address", default="127.0.0.1", metavar="ADDRESS", help="local address to listen on")
    p = command("cp", streams.cp_command, "Copy files and directories to and from containers (tar over exec).",
                "examples:\n  dynkube cp web-0:/etc/nginx ./nginx\n  dynkube cp other-ns/web-0:/tmp/a.log a.log\n"
                "  dynkube cp ./site web-0:/usr/share/html")
    p.add_argument("source", metavar="SOURCE", help="[NAMESPACE/]POD:PATH or a local path")
    p.add_argument("destination", metavar="DESTINATION", help="a local path or [NAMESPACE/]POD:PATH")
    p.add_argument("-c", "--container", metavar="NAME", help="the container (default: the pod's only or default one)")


def _add_stream_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--container", metavar="NAME", help="the container (default: the pod's only or default one)")
    p.add_argument("-i", "--stdin", action="store_true", help="pass our stdin to the container")
    p.add_argument("-t", "--tty", action="store_true", help="stdin is a terminal (raw mode; stderr joins stdout)")


def _add_export_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("export", export.export_command, "Write objects as clean YAML that applies again (backup, migration).",
                "examples:\n  dynkube export backup/ -n web\n  dynkube export backup/ -A --include-secrets\n"
                "  dynkube export - -n web --kinds deploy,svc,cm > web.yaml")
    p.add_argument("output", metavar="DIR|FILE|-", help="directory to write (empty or absent), or a file with "
                   "--layout=stream, or '-' for the standard output")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace and cluster-scoped kind")
    p.add_argument("--kinds", action="append", default=[], metavar="KINDS",
                   help="only these kinds (comma-separated; default rules do not apply to them)")
    p.add_argument("--exclude-kinds", action="append", default=[], metavar="KINDS",
                   help="leave these kinds out (comma-separated)")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="only objects matching this label selector")
    p.add_argument("--layout", choices=("tree", "stream"), default="tree",
                   help="tree: NAMESPACE/GROUP/KIND/NAME.yaml (default); stream: one multi-document file")
    p.add_argument("--include-secrets", action="store_true", help="export Secrets too (files written 0600)")
    p.add_argument("--include-owned", action="store_true",
                   help="also objects owned by another exported object (e.g. a Deployment's Pods)")
    p.add_argument("--include-managed", action="store_true",
                   help="also objects the control plane makes and keeps itself (see docs/export.md)")

    p = command("import", export.import_command, "Apply an export (to this or another cluster or namespace).",
                "examples:\n  dynkube import backup/\n  dynkube import backup/ -n web-copy\n"
                "  dynkube import web.yaml --dry-run=server")
    p.set_defaults(mutates=True)
    p.add_argument("source", metavar="DIR|FILE", help="an export directory or stream file")
    p.add_argument("--field-manager", default="dynkube", metavar="NAME", help="field manager (default dynkube)")
    p.add_argument("--force-conflicts", action="store_true", help="take over fields owned by other managers")
    p.add_argument("--dry-run", action=ValueAfterEquals, const="server", choices=("none", "server"),
                   help="'server': the server checks and answers without persisting")

    p = command("snapshot", snapshot.snapshot_command, "Save what the server serves (discovery, OpenAPI schemas, "
                "version) to a file, for offline use with --snapshot.",
                "examples:\n  dynkube snapshot save cluster.snap\n"
                "  dynkube --snapshot cluster.snap explain deploy.spec.strategy")
    p.add_argument("action", choices=("save",), help="save: record the live server")
    p.add_argument("file", metavar="FILE", help="the snapshot file to write")

    p = command("validate", snapshot.validate_command, "Check manifests against the server's schemas "
                "(or a snapshot's, offline), without sending them.",
                "examples:\n  dynkube validate -f manifests/ -R\n"
                "  dynkube validate -f manifests/ --snapshot prod.snap -o json")
    _add_file_options(p)
    p.add_argument("--strict", action=BoolFlag, default=True,
                   help="flag unknown fields, as the server's fieldValidation=Strict (default true)")
    p.add_argument("-o", "--output", choices=("json",), help="json: {documents, problems: [{file, index, kind, "
                   "name, path, message}]}")

    p = command("stubs", stubs.stubs_command, "Generate a package of TypedDicts for kinds the server serves "
                "(from its OpenAPI v3 schemas), for type checkers.",
                "examples:\n  dynkube stubs --output typings/ certificates.cert-manager.io deployments\n"
                "  dynkube --snapshot prod.snap stubs --output typings/")
    p.add_argument("kinds", nargs="*", metavar="KIND", help="kinds to type (default: every kind served)")
    p.add_argument("--output", required=True, metavar="DIR", help="directory to write the package into")
    p.add_argument("--package", default="dynkube_stubs", metavar="NAME", help="package name (default dynkube_stubs)")


def _add_tool_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """events, describe, wait, diff, rollout, cordon, uncordon, drain (dynkube.cli.tools)."""
    p = command("events", tools.events, "List events, oldest first (of one object with --for).",
                "examples:\n  dynkube events -n web\n  dynkube events --for deploy/web --types=Warning\n"
                "  dynkube events -A --watch")
    p.add_argument("--for", dest="for_object", metavar="KIND/NAME", help="only the events about this object")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="events of every namespace")
    p.add_argument("--types", action="append", default=[], metavar="TYPES",
                   help="only these event types (Normal, Warning; comma-separated)")
    p.add_argument("-w", "--watch", action="store_true", help="after listing, print new events as they come")
    p.add_argument("--no-headers", action="store_true", help="omit the header line")
    p.add_argument("-o", "--output", choices=("json", "yaml"), help="output format")

    p = command("describe", tools.describe, "Show the details of objects of any kind, and their events.",
                "examples:\n  dynkube describe deploy web\n  dynkube describe pods -l app=web\n"
                "  dynkube describe gizmo/g1")
    p.add_argument("targets", nargs="+", metavar="RESOURCE [NAME...] | TYPE/NAME...")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="describe the objects matching this label selector")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="objects of every namespace")

    p = command("wait", tools.wait, "Wait until objects of any kind meet a condition.",
                "examples:\n  dynkube wait --for=condition=Available deploy/web\n"
                "  dynkube wait --for=delete pod/web-1 --timeout=60s\n"
                "  dynkube wait --for=jsonpath='{.status.phase}'=Running pods -l app=web\n"
                "  dynkube wait --for=condition=Ready=false gizmos --all")
    p.add_argument("targets", nargs="+", metavar="RESOURCE [NAME...] | TYPE/NAME...")
    p.add_argument("--for", dest="for_condition", required=True, metavar="CONDITION",
                   help="delete, create, condition=TYPE[=STATUS] or jsonpath={PATH}[=VALUE]")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="wait for the objects matching this label selector")
    p.add_argument("--all", action="store_true", help="wait for every object of the type in the namespace")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="with -l/--all: in every namespace")
    p.add_argument("--timeout", type=_timeout, metavar="DURATION",
                   help="how long to wait for each object (default 30s; 0: check once)")

    p = command("diff", tools.diff, "Show what applying manifests would change (server-side dry run).",
                "exit status: 0 no differences, 1 differences found, 2 an error\n"
                "examples:\n  dynkube diff -f stack.yaml\n  dynkube diff -f manifests/ -R")
    _add_file_options(p)
    p.add_argument("--field-manager", default="dynkube", metavar="NAME", help="field manager (default dynkube)")
    p.add_argument("--force-conflicts", action="store_true", help="diff as if taking over conflicting fields")

    p = command("rollout", tools.rollout, "Follow, restart, list or undo the rollout of an object.",
                "examples:\n  dynkube rollout status deploy/web --timeout=2m\n  dynkube rollout restart sts db\n"
                "  dynkube rollout history deploy/web\n  dynkube rollout undo deploy/web --to-revision=1")
    p.add_argument("action", choices=("status", "restart", "history", "undo"), help="what to do")
    p.add_argument("targets", nargs="+", metavar="TYPE NAME... | TYPE/NAME...")
    p.add_argument("--timeout", type=_timeout, metavar="DURATION",
                   help="status: how long to wait (default: no limit)")
    p.add_argument("-w", "--watch", action=BoolFlag, default=True,
                   help="status: follow until complete (default true); false: print the status once")
    p.add_argument("--revision", type=int, metavar="N", help="history: show this revision's pod template")
    p.add_argument("--to-revision", type=int, metavar="N", help="undo: the revision to go back to (default: previous)")
    for name, handler, what in (("cordon", tools.cordon, "Mark nodes unschedulable."),
                                ("uncordon", tools.uncordon, "Mark nodes schedulable again.")):
        p = command(name, handler, what, f"examples:\n  dynkube {name} node-1")
        p.add_argument("nodes", nargs="+", metavar="NODE")
        p.set_defaults(mutates=True)

    p = command("drain", tools.drain, "Cordon nodes and evict their pods (honouring PodDisruptionBudgets).",
                "examples:\n  dynkube drain node-1 --ignore-daemonsets\n"
                "  dynkube drain node-1 --force --delete-emptydir-data --timeout=5m")
    p.add_argument("nodes", nargs="+", metavar="NODE")
    p.set_defaults(mutates=True)
    p.add_argument("--force", action="store_true", help="also evict pods that declare no controller")
    p.add_argument("--ignore-daemonsets", action="store_true", help="leave DaemonSet-managed pods (else refused)")
    p.add_argument("--delete-emptydir-data", action="store_true",
                   help="also evict pods with emptyDir volumes (their data is lost)")
    p.add_argument("--pod-selector", metavar="SELECTOR", help="only the pods matching this label selector")
    p.add_argument("--grace-period", type=int, default=-1, metavar="SECONDS",
                   help="seconds each pod gets to terminate (default: the pod's own)")
    p.add_argument("--timeout", type=_timeout, metavar="DURATION", help="give up after this long (default: no limit)")

def _add_change_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """patch, label, annotate, scale (dynkube.cli.change)."""
    def common(p: argparse.ArgumentParser) -> None:
        p.set_defaults(mutates=True)
        p.add_argument("-o", "--output", choices=("name", "json", "yaml"), help="output format")
        p.add_argument("--dry-run", action=ValueAfterEquals, const="server", choices=("none", "server"),
                       help="'server': the server checks and answers without persisting")

    p = command("patch", change.patch, "Change fields of an object of any kind with a merge, JSON or "
                "strategic patch.",
                "examples:\n  dynkube patch deploy web -p '{\"spec\":{\"replicas\":2}}'\n"
                "  dynkube patch gizmo/g1 --type json -p '[{\"op\":\"add\",\"path\":\"/spec/size\",\"value\":3}]'\n"
                "  dynkube patch gizmo g1 --subresource status -p '{\"status\":{\"phase\":\"Ready\"}}'")
    common(p)
    p.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    p.add_argument("-p", "--patch", required=True, metavar="PATCH", help="the patch, JSON or YAML")
    p.add_argument("--type", choices=("strategic", "merge", "json"), default="strategic",
                   help="patch type (default strategic, as kubectl; built-in kinds only: use merge for CRDs)")
    p.add_argument("--subresource", metavar="NAME", help="patch this subresource (status, scale)")
    for name, handler, field in (("label", change.label, "labels"), ("annotate", change.annotate, "annotations")):
        p = command(name, handler, f"Set or remove {field} of objects of any kind.",
                    f"examples:\n  dynkube {name} pods web tier=front\n  dynkube {name} deploy/web tier-\n"
                    f"  dynkube {name} cm -l app=web tier=back --overwrite\n  dynkube {name} gizmo g1 --list")
        common(p)
        p.add_argument("targets", nargs="+", metavar="TYPE NAME... | TYPE/NAME... KEY=VALUE... KEY-...")
        p.add_argument("--overwrite", action="store_true", help="allow changing existing values")
        p.add_argument("-l", "--selector", metavar="SELECTOR", help="the objects matching this label selector")
        p.add_argument("--all", action="store_true", help="every object of the type in the namespace")
        p.add_argument("--list", action="store_true", help=f"print the {field} (KEY=VALUE) instead of changing them")
    p = command("scale", change.scale, "Set the replicas of objects of any kind with a scale subresource.",
                "examples:\n  dynkube scale deploy web --replicas=3\n  dynkube scale gizmo/g1 --replicas=0\n"
                "  dynkube scale deploy web --current-replicas=3 --replicas=1")
    common(p)
    p.add_argument("targets", nargs="+", metavar="TYPE NAME... | TYPE/NAME...")
    p.add_argument("--replicas", type=int, required=True, metavar="N", help="the new number of replicas")
    p.add_argument("--current-replicas", type=int, metavar="N", help="only if the replicas are now N")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="the objects matching this label selector")
    p.add_argument("--all", action="store_true", help="every object of the type in the namespace")


def _add_logs_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """logs (dynkube.cli.logs), with kubectl's flags."""

    p = command("logs", logs.logs_command, "Print the logs of a container in a pod, or of a workload's pod.",
                "examples:\n  dynkube logs web-1\n  dynkube logs -f deploy/web --tail=10\n"
                "  dynkube logs -l app=web --all-containers --prefix\n  dynkube logs web-1 -c sidecar --since=1h\n"
                "  dynkube logs -p job/migrate --timestamps")
    p.add_argument("targets", nargs="*", metavar="POD | TYPE/NAME [CONTAINER]")
    p.add_argument("-c", "--container", metavar="NAME", help="the container (default: the pod's default container)")
    p.add_argument("-f", "--follow", action="store_true", help="stream the logs as they are written")
    p.add_argument("--tail", type=int, metavar="N",
                   help="only the last N lines (default -1: all; 10 with a selector)")
    p.add_argument("--since", type=_timeout, metavar="DURATION", help="only lines newer than this, e.g. 5s, 2m, 3h")
    p.add_argument("--since-time", metavar="TIME", help="only lines after this RFC 3339 time")
    p.add_argument("--timestamps", action="store_true", help="start each line with its timestamp")
    p.add_argument("-p", "--previous", action="store_true", help="the logs of the previous instance of the container")
    p.add_argument("--limit-bytes", type=int, default=0, metavar="N", help="at most N bytes of each log (0: no limit)")
    p.add_argument("--all-containers", action="store_true", help="every container of the pod(s)")
    p.add_argument("--all-pods", action="store_true", help="every pod of the workload, not only the first")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="the pods matching this label selector")
    p.add_argument("--prefix", action="store_true", help="start each line with its source: [pod/NAME/CONTAINER]")
    p.add_argument("--max-log-requests", type=int, default=5, metavar="N",
                   help="follow at most N logs at once (default 5)")
    p.add_argument("--ignore-errors", action="store_true",
                   help="when following several logs, an error of one is reported and the others go on")
    p.add_argument("--pod-running-timeout", type=_timeout, default=20.0, metavar="DURATION",
                   help="how long to wait for a workload's first pod (default 20s)")
    p.add_argument("--insecure-skip-tls-verify-backend", action="store_true",
                   help="the API server does not verify the kubelet's certificate (expired kubelet certificates)")
    p.add_argument("--resume", action="store_true",
                   help="with -f: reconnect a broken connection, from the last line's timestamp (dynkube only)")


def _add_cached_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cached", action=BoolFlag, default=False,
                   help="use the discovery cache instead of asking the server (default false)")


def _add_file_options(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("-f", "--filename", action="append", default=[], metavar="FILE|DIR|URL|-",
                   help="manifest file, directory, http(s) URL or '-' for stdin (repeatable)")
    p.add_argument("-R", "--recursive", action="store_true", help="walk directories recursively")


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
