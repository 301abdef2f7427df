"""``dynkube create``: POST the objects of manifests (``-f``), or one request to a path (``--raw``)."""

from __future__ import annotations

import argparse
from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError, describe_error
from .flags import ValueAfterEquals
from .options import AddCommand
from .printing import dump_json, dump_yaml, qualified_kind
from .raw import add_raw_option, unless_raw
from .sources import read_manifests


def register(command: AddCommand) -> None:
    """Add ``create`` and its subcommands."""
    p = command("create", unless_raw(create), "Create objects from manifests or of a few common kinds (POST; "
                "existing ones are errors).",
                "examples:\n  dynkube create -f stack.yaml\n  dynkube create -f cm.yaml --dry-run=server -o yaml\n"
                "  dynkube create configmap web --from-literal=mode=fast --from-file=conf/\n"
                "  dynkube create secret generic db --from-env-file=db.env\n"
                "  dynkube create token builder --duration=10m\n"
                "  dynkube create --raw /api/v1/namespaces -f ns.json")
    p.set_defaults(mutates=True)
    p.add_argument("-f", "--filename", action="append", default=[], metavar="FILE|DIR|URL|-",
                   help="manifest file, directory, http(s) URL or '-' for stdin (repeatable)")
    p.add_argument("-R", "--recursive", action="store_true", help="walk directories recursively")
    add_output_options(p, top=True)
    add_raw_option(p)
    from . import generators

    generators.register(p, add_output_options)


def add_output_options(p: argparse.ArgumentParser, top: bool = False) -> None:
    """--dry-run, -o, --field-manager; on a kind's parser they have no default, so that those given
    before the kind (``create --dry-run=client configmap x``) are kept."""
    def default(value: str | None) -> str | None:
        return value if top else argparse.SUPPRESS

    p.add_argument("--dry-run", action=ValueAfterEquals, const="client", choices=("none", "server", "client"),
                   default=default(None),
                   help="'server': the server checks and answers without persisting; 'client': nothing is sent")
    p.add_argument("-o", "--output", choices=("yaml", "json", "name"), default=default(None),
                   help="print the created objects")
    p.add_argument("--field-manager", default=default("dynkube-create"), metavar="NAME",
                   help="field manager (default dynkube-create)")


def create(ctx: Context) -> int:
    args = ctx.args
    build = getattr(args, "build", None)
    if build is not None:
        if args.filename:
            raise UsageError(f"create {args.kind} takes no -f")
        return _generated(ctx, build(ctx))
    if not args.filename:
        raise UsageError("must specify -f FILE|DIR|URL|- with the objects to create, or a KIND "
                         "(namespace, configmap, secret, serviceaccount, token)")
    failed = total = 0
    for source in args.filename:
        for where, body, problem in read_manifests(source, args.recursive):
            total += 1
            if body is None:
                ctx.error(f"error: {where}: {problem}")
                failed += 1
            elif not send(ctx, body, where):
                failed += 1
    if not total:
        raise dynkube.ManifestError("no objects passed to create")
    if failed:
        raise CommandFailed
    return 0


def send(ctx: Context, body: dict[str, Any], where: str | None = None) -> bool:
    """Create one object (or with --dry-run=client, only print it); False if the server refused it."""
    args = ctx.args
    try:
        if args.dry_run == "client":
            created = body
        else:
            rc = ctx.client.resource_for(body)
            created = dict(rc.create(body, args.namespace, dry_run=args.dry_run == "server",
                                     field_manager=args.field_manager))
    except dynkube.DynkubeError as exc:
        text = describe_error(exc)
        if where:
            text = text.replace("): ", f"): error when creating {where}: ", 1) if text.startswith("Error from") \
                else f"error: {where}: {text.removeprefix('error: ')}"
        ctx.error(text)
        return False
    show(ctx, created)
    return True


def show(ctx: Context, obj: dict[str, Any]) -> None:
    output, dry_run = ctx.args.output, ctx.args.dry_run
    if output == "yaml":
        ctx.out.write(dump_yaml(obj))
    elif output == "json":
        ctx.out.write(dump_json(obj))
    else:
        name = f"{qualified_kind(str(obj.get('apiVersion') or ''), str(obj.get('kind') or ''))}/" \
               f"{(obj.get('metadata') or {}).get('name', '')}"
        suffix = {"server": " (server dry run)", "client": " (dry run)"}.get(dry_run or "", "")
        ctx.print(name if output == "name" else f"{name} created{suffix}")
    ctx.out.flush()


def _generated(ctx: Context, body: dict[str, Any]) -> int:
    """Send (or, with --dry-run=client, show) an object built by a create subcommand."""
    if body["kind"] != "TokenRequest":
        if not send(ctx, body):
            raise CommandFailed
        return 0
    if ctx.args.dry_run == "client":
        show(ctx, body)
        return 0
    answer = ctx.client.resource("serviceaccounts").create(body, ctx.args.namespace, subresource="token",
                                                          name=ctx.args.name, dry_run=ctx.args.dry_run == "server")
    if ctx.args.output:
        show(ctx, dict(answer))
    else:
        ctx.print(str((answer.get("status") or {}).get("token") or ""))
    return 0
