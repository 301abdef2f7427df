"""The flags several commands share (global and connection flags, -f/-R, --cached, durations), and the
signature of ``AddCommand``, the helper with which each command module registers its parser."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from .flags import BoolFlag

MAX_DURATION = 9223372036.0  # seconds: Go's longest time.Duration, so kubectl's limit too

AddCommand = Callable[..., argparse.ArgumentParser]
"""``command(name, handler, help_text, epilog=None)``: a new command's parser, with the global flags."""


def duration(value: str) -> float | None:
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


def add_global_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """Global flags, accepted before or after the command (as kubectl's)."""
    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("global options")
    group.add_argument("--kubeconfig", metavar="PATH", default=default(None),
                       help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else in-cluster)")
    group.add_argument("--context", metavar="NAME", default=default(None), help="kubeconfig context to use")
    group.add_argument("-n", "--namespace", metavar="NS", default=default(None),
                       help="namespace (default: the context's, else 'default')")
    group.add_argument("--request-timeout", metavar="DURATION", type=duration, default=default(None),
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


def add_cached_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cached", action=BoolFlag, default=False,
                   help="use the discovery cache instead of asking the server (default false)")


def add_file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--filename", action="append", default=[], metavar="FILE|DIR|URL|-",
                   help="manifest file, directory, http(s) URL or '-' for stdin (repeatable)")
    p.add_argument("-R", "--recursive", action="store_true", help="walk directories recursively")
