"""``dynkube create namespace|configmap|secret ...|serviceaccount|token``: kubectl's generators, each an
object built from the command line and sent with ``ResourceClient.create`` (or only shown, with
``--dry-run=client``)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dynkube

from .context import Context, UsageError
from .options import add_global_options
from .parsing import CommandParser

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DOCKER_HUB = "https://index.docker.io/v1/"


def register(create: argparse.ArgumentParser,
             add_output_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """The subcommands of ``create``."""
    sub = create.add_subparsers(dest="kind", metavar="KIND", parser_class=CommandParser)

    def kind(parent: Any, name: str, handler: Callable[[Context], dict[str, Any]], help_text: str,
             aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, aliases=list(aliases), help=help_text,
                                                       description=help_text)
        add_global_options(p, False)
        add_output_options(p)
        p.set_defaults(build=handler)
        p.add_argument("name", metavar="NAME")
        return p

    kind(sub, "namespace", namespace, "Create a namespace.", ("ns",))
    kind(sub, "serviceaccount", serviceaccount, "Create a service account.", ("sa",))
    p = kind(sub, "configmap", configmap, "Create a configmap from literals, files, directories or env files.",
             ("cm",))
    _add_sources(p)
    p = kind(sub, "token", token, "Request a service account token (TokenRequest) and print it.")
    p.add_argument("--duration", type=_duration, metavar="DURATION", help="how long the token is valid, e.g. 1h")
    p.add_argument("--audience", action="append", default=[], metavar="AUDIENCE", help="an audience (repeatable)")
    secret = sub.add_parser("secret", help="Create a secret (generic, tls or docker-registry).",
                            description="Create a secret (generic, tls or docker-registry).")
    add_global_options(secret, False)
    secrets = secret.add_subparsers(dest="secret_type", metavar="TYPE", parser_class=CommandParser, required=True)
    p = kind(secrets, "generic", secret_generic, "A secret from literals, files, directories or env files.")
    _add_sources(p)
    p.add_argument("--type", metavar="TYPE", help="the secret's type (default Opaque)")
    p = kind(secrets, "tls", secret_tls, "A kubernetes.io/tls secret from a certificate and key file.")
    p.add_argument("--cert", required=True, metavar="FILE", help="PEM certificate (chain)")
    p.add_argument("--key", required=True, metavar="FILE", help="PEM private key")
    p = kind(secrets, "docker-registry", secret_docker_registry, "A kubernetes.io/dockerconfigjson secret.")
    p.add_argument("--docker-server", default=DOCKER_HUB, metavar="URL", help=f"registry (default {DOCKER_HUB})")
    p.add_argument("--docker-username", metavar="NAME")
    p.add_argument("--docker-password", metavar="PASSWORD")
    p.add_argument("--docker-email", metavar="EMAIL")
    p.add_argument("--from-file", action="append", default=[], metavar="[KEY=]FILE",
                   help="a docker config file instead (key .dockerconfigjson)")


def _add_sources(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from-literal", action="append", default=[], metavar="KEY=VALUE", help="a key and its value")
    p.add_argument("--from-file", action="append", default=[], metavar="[KEY=]PATH",
                   help="a file (key: its name) or every file of a directory")
    p.add_argument("--from-env-file", action="append", default=[], metavar="FILE", help="KEY=VALUE lines")


def _duration(value: str) -> int:
    match = _DURATION.match(value.strip())
    if value.strip().isdigit():
        return int(value)
    if not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"invalid duration {value!r} (examples: 600s, 10m, 1h)")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


# ---- building the objects -------------------------------------------------------------------------

def metadata(ctx: Context) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": ctx.args.name}
    if ctx.args.namespace and ctx.args.build not in (namespace,):
        meta["namespace"] = ctx.args.namespace
    return meta


def namespace(ctx: Context) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(ctx)}


def serviceaccount(ctx: Context) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(ctx)}


def configmap(ctx: Context) -> dict[str, Any]:
    text, binary = _sources(ctx, "ConfigMap")
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(ctx)}
    if text:
        body["data"] = {k: v.decode() for k, v in text.items()}
    if binary:
        body["binaryData"] = {k: base64.b64encode(v).decode() for k, v in binary.items()}
    return body


def secret_generic(ctx: Context) -> dict[str, Any]:
    text, binary = _sources(ctx, "Secret")
    return _secret(ctx, {**text, **binary}, ctx.args.type)


def secret_tls(ctx: Context) -> dict[str, Any]:
    args = ctx.args
    cert, key = _read(args.cert), _read(args.key)
    try:
        ssl.create_default_context().load_cert_chain(args.cert, args.key, password=lambda: b"")
    except (ssl.SSLError, ValueError) as exc:
        raise dynkube.InvalidInput(f"--cert {args.cert} and --key {args.key} are not a certificate and its "
                                   f"unencrypted private key: {exc.args[-1] if exc.args else exc}") from None
    return _secret(ctx, {"tls.crt": cert, "tls.key": key}, "kubernetes.io/tls")


def secret_docker_registry(ctx: Context) -> dict[str, Any]:
    args = ctx.args
    if args.from_file:
        data, _ = _files(args.from_file, "Secret", {}, {})
        return _secret(ctx, data, "kubernetes.io/dockerconfigjson")
    if not args.docker_username or not args.docker_password:
        raise UsageError("--docker-username and --docker-password are needed (or --from-file)")
    entry = {"username": args.docker_username, "password": args.docker_password}
    if args.docker_email:
        entry["email"] = args.docker_email
    entry["auth"] = base64.b64encode(f"{args.docker_username}:{args.docker_password}".encode()).decode()
    config = json.dumps({"auths": {args.docker_server: entry}}, separators=(",", ":")).encode()
    return _secret(ctx, {".dockerconfigjson": config}, "kubernetes.io/dockerconfigjson")


def _secret(ctx: Context, data: dict[str, bytes], secret_type: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata(ctx)}
    if data:
        body["data"] = {k: base64.b64encode(v).decode() for k, v in data.items()}
    if secret_type:
        body["type"] = secret_type
    return body


def token(ctx: Context) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if ctx.args.audience:
        spec["audiences"] = ctx.args.audience
    if ctx.args.duration:
        spec["expirationSeconds"] = ctx.args.duration
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


# ---- sources of keys ------------------------------------------------------------------------------

def _sources(ctx: Context, kind: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(UTF-8 values, other values) by key, from --from-literal, --from-file and --from-env-file, with
    kubectl's key rules and its error for a key given twice."""
    args = ctx.args
    text: dict[str, bytes] = {}
    binary: dict[str, bytes] = {}
    for literal in args.from_literal:
        key, sep, value = literal.partition("=")
        if not sep or not key:
            raise UsageError(f"--from-literal takes KEY=VALUE, not {literal!r}")
        _add(text, binary, _checked(key, kind), value.encode(), kind, ctx.args.name)
    _files(args.from_file, kind, text, binary, ctx.args.name)
    for path in args.from_env_file:
        for key, value in _env_file(path):
            _add(text, binary, key, value.encode(), kind, ctx.args.name)
    return text, binary


def _files(specs: list[str], kind: str, text: dict[str, bytes], binary: dict[str, bytes],
           name: str = "") -> tuple[dict[str, bytes], dict[str, bytes]]:
    for spec in specs:
        key, sep, path = spec.partition("=")
        if not sep:
            key, path = "", spec
        source = Path(path)
        if source.is_dir():
            if key:
                raise UsageError(f"--from-file {spec!r}: a directory takes no key")
            for item in sorted(source.iterdir()):
                if item.is_file():
                    _add(text, binary, _checked(item.name, kind), _read(str(item)), kind, name)
            continue
        _add(text, binary, _checked(key or source.name, kind), _read(path), kind, name)
    return text, binary


def _env_file(path: str) -> list[tuple[str, str]]:
    """KEY=VALUE lines (blank lines and # comments skipped; a KEY alone takes its value from the environment)."""
    pairs = []
    for number, raw in enumerate(_read(path).decode("utf-8", "replace").splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not _ENV_NAME.match(key):
            raise dynkube.InvalidInput(f"{json.dumps(key)} is not a valid key name ({path} line {number}): a valid "
                                       "environment variable name must consist of alphabetic characters, digits, "
                                       "'_', '-', or '.', and must not start with a digit")
        if sep:
            pairs.append((key, value))
        elif key in os.environ:
            pairs.append((key, os.environ[key]))
    return pairs


def _checked(key: str, kind: str) -> str:
    if not _CONFIG_KEY.match(key):
        raise dynkube.InvalidInput(f"{json.dumps(key)} is not a valid key name for a {kind}: a valid config key "
                                   "must consist of alphanumeric characters, '-', '_' or '.'")
    return key


def _add(text: dict[str, bytes], binary: dict[str, bytes], key: str, value: bytes, kind: str, name: str) -> None:
    if key in text or key in binary:
        raise dynkube.InvalidInput(f"cannot add key {json.dumps(key)}, another key by that name already exists in "
                                   f"Data for {kind} {json.dumps(name)}")
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        binary[key] = value
    else:
        text[key] = value


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise dynkube.InvalidInput(f"cannot read {path}: {exc.strerror}") from None
