"""What the commands that change objects share (patch, label, annotate, scale): the flags, the
objects they act on, and kubectl's result line."""

from __future__ import annotations

import argparse
from typing import Any

import dynkube

from .context import Context, UsageError
from .flags import ValueAfterEquals
from .get import Target, parse_targets
from .printing import dump_json, dump_yaml, object_name, without_managed_fields


def add_change_options(p: argparse.ArgumentParser) -> None:
    """-o name|json|yaml and --dry-run, as every change command has them."""
    p.set_defaults(mutates=True)
    p.add_argument("-o", "--output", choices=("name", "json", "yaml"), help="output format")
    p.add_argument("--dry-run", action=ValueAfterEquals, const="server", choices=("none", "server"),
                   help="'server': the server checks and answers without persisting")


def print_result(ctx: Context, obj: dict[str, Any], message: str) -> None:
    """``-o name|json|yaml`` of the changed object, else kubectl's ``KIND/NAME MESSAGE`` line."""
    output = ctx.args.output
    if output == "name":
        ctx.print(object_name(obj))
    elif output in ("json", "yaml"):
        shown = without_managed_fields(obj)
        ctx.out.write(dump_json(shown) if output == "json" else dump_yaml(shown))
    else:
        ctx.print(f"{object_name(obj)} {message}")


def one_type(ctx: Context, args: list[str], what: str) -> list[Target]:
    """The targets of ``args``, which must be of one type."""
    targets = parse_targets(ctx, args)
    if len(targets) != 1:
        raise UsageError(f"{what} takes objects of one type")
    return targets


def namespace_of(ctx: Context, rc: dynkube.ResourceClient) -> str | None:
    """The command's namespace for a namespaced kind, else None."""
    return ctx.namespace if rc.namespaced else None


def selected_objects(ctx: Context, target: Target, what: str) -> list[dynkube.ApiObject]:
    """The objects named, or selected by -l / --all."""
    args = ctx.args
    rc = target.resource
    namespace = namespace_of(ctx, rc)
    if args.selector or args.all:
        if target.names:
            raise UsageError(f"{what}: names cannot be given with -l/--all")
        return list(rc.list(namespace, label_selector=args.selector or None))
    if not target.names:
        raise UsageError(f"{what}: give the objects' names, -l SELECTOR or --all")
    return [rc.get(name, namespace) for name in target.names]
