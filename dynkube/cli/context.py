"""What every command gets (its Context), the errors a command raises to end, and errors as one line."""

from __future__ import annotations

import argparse
import re
from typing import Any, TextIO

import dynkube

from .printing import colour_enabled


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""


class CommandFailed(Exception):
    """Errors were already printed; exit with code 1."""


class Context:
    """What every command gets: parsed arguments, the output streams, and a client made on first use."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO, parser: argparse.ArgumentParser) -> None:
        self.args = args
        self.parser = parser  # the parser that read ``args`` (completion walks it)
        self.out = out
        self.err = err
        self.colour = colour_enabled(out)
        self.err_colour = colour_enabled(err)
        self._client: dynkube.Client | None = None

    @property
    def client(self) -> dynkube.Client:
        if self._client is None and getattr(self.args, "snapshot", None):
            self._client = dynkube.open_snapshot(self.args.snapshot, namespace=self.args.namespace or "default")
        if self._client is None:
            options: dict[str, Any] = {}
            if self.args.request_timeout:  # a number bounds each request in all; else the library's defaults
                options["timeout"] = self.args.request_timeout
            overrides = connection_overrides(self.args)
            if overrides is None:
                self._client = dynkube.Client(kubeconfig=self.args.kubeconfig or None, context=self.args.context,
                                              namespace=self.args.namespace, **options)
            else:
                self._client = dynkube.Client(overridden_config(self.args, overrides), namespace=self.args.namespace,
                                              **options)
        return self._client

    @property
    def namespace(self) -> str:
        """``-n``, else the context's namespace, else "default"."""
        return self.args.namespace or self.client.namespace

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def error(self, text: str) -> None:
        """One line on stderr."""
        self.err.write(one_line(text) + "\n")
        self.err.flush()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def connection_overrides(args: argparse.Namespace) -> dynkube.Overrides | None:
    """kubectl's global connection flags as Overrides, or None when none is given."""
    overrides = dynkube.Overrides(
        server=args.server, cluster=args.cluster, user=args.user, token=args.token,
        certificate_authority=args.certificate_authority, client_certificate=args.client_certificate,
        client_key=args.client_key, insecure_skip_tls_verify=args.insecure_skip_tls_verify,
        tls_server_name=args.tls_server_name, impersonate=args.impersonate, impersonate_uid=args.impersonate_uid,
        impersonate_groups=tuple(args.impersonate_groups or ()))
    return overrides if overrides != dynkube.Overrides() else None


def overridden_config(args: argparse.Namespace, overrides: dynkube.Overrides) -> dynkube.Config:
    """The kubeconfig's context with the flags over it; with --server and no kubeconfig at all, the flags alone."""
    from dynkube import config

    if args.kubeconfig:
        return config.load_kubeconfig(args.kubeconfig, context=args.context, overrides=overrides)
    try:
        return config.default_config(context=args.context, overrides=overrides)
    except dynkube.ConfigError:
        if not overrides.server or args.context or overrides.cluster or overrides.user:
            raise
    if overrides.impersonate or overrides.impersonate_groups or overrides.impersonate_uid:
        raise dynkube.InvalidInput("--as, --as-group and --as-uid need a kubeconfig user entry to add them to")
    return dynkube.Config.from_url(overrides.server, token=overrides.token, ca=overrides.certificate_authority,
                                   insecure_skip_tls_verify=overrides.insecure_skip_tls_verify,
                                   client_certificate=overrides.client_certificate, client_key=overrides.client_key,
                                   tls_server_name=overrides.tls_server_name)


def one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", str(text)).strip()


def describe_error(exc: BaseException) -> str:
    """An exception as the one line a person reads: kubectl's ``Error from server (Reason): message``
    for API errors, ``error: ...`` for everything else."""
    if isinstance(exc, dynkube.ApiError):
        message = exc.message or exc.reason or str(exc)
        if isinstance(exc, dynkube.Invalid):
            fields = [f"{c.get('field')}: {c.get('message')}" for c in exc.causes if c.get("field")]
            missing = [f for f in fields if f not in message]
            if missing:
                message += " [" + "; ".join(missing) + "]"
        return one_line(f"Error from server ({exc.reason or exc.code}): {message}")
    if isinstance(exc, dynkube.TransportError):
        return one_line(f"error: unable to connect to the server: {exc}")
    return one_line(f"error: {exc}")
