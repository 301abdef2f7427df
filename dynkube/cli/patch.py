"""``dynkube patch``: change fields of an object of any kind with a merge, JSON or strategic patch."""

from __future__ import annotations

import json
from typing import Any

import dynkube

from .changes import add_change_options, namespace_of, one_type, print_result
from .context import Context, UsageError
from .options import AddCommand


def register(command: AddCommand) -> None:
    """Add ``patch``."""
    p = command("patch", patch, "Change fields of an object of any kind with a merge, JSON or "
                "strategic patch.",
                "examples:\n  dynkube patch deploy web -p '{\"spec\":{\"replicas\":2}}'\n"
                "  dynkube patch gizmo/g1 --type json -p '[{\"op\":\"add\",\"path\":\"/spec/size\",\"value\":3}]'\n"
                "  dynkube patch gizmo g1 --subresource status -p '{\"status\":{\"phase\":\"Ready\"}}'")
    add_change_options(p)
    p.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    p.add_argument("-p", "--patch", required=True, metavar="PATCH", help="the patch, JSON or YAML")
    p.add_argument("--type", choices=("strategic", "merge", "json"), default="strategic",
                   help="patch type (default strategic, as kubectl; built-in kinds only: use merge for CRDs)")
    p.add_argument("--subresource", metavar="NAME", help="patch this subresource (status, scale)")


def parse_patch(text: str, patch_type: str) -> dict[str, Any] | list[Any]:
    """The ``-p`` text as JSON (or YAML) of the shape its type needs, before any request."""
    import yaml

    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise dynkube.InvalidInput(f"invalid patch text (-p): {exc}") from None
    if patch_type == "json" and not isinstance(value, list):
        raise dynkube.InvalidInput("a json patch (-p) must be a list of operations, e.g. "
                                   "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":2}]")
    if patch_type != "json" and not isinstance(value, dict):
        raise dynkube.InvalidInput(f"a {patch_type} patch (-p) must be an object, e.g. {{\"spec\":{{\"replicas\":2}}}}")
    parsed: dict[str, Any] | list[Any] = value
    return parsed


def patch(ctx: Context) -> int:
    args = ctx.args
    body = parse_patch(args.patch, args.type)
    [target] = one_type(ctx, args.targets, "patch")
    if len(target.names) != 1:
        raise UsageError("patch takes one object: TYPE NAME or TYPE/NAME")
    rc, name = target.resource, target.names[0]
    if args.subresource and not any(s.name == args.subresource for s in rc.resource.subresources):
        raise dynkube.InvalidInput(f"{rc.plural} has no {args.subresource!r} subresource")
    namespace = namespace_of(ctx, rc)
    before = rc.get(name, namespace, subresource=args.subresource)
    dry_run = args.dry_run == "server"
    after = dict(rc.patch(name, body, namespace, patch_type=args.type, subresource=args.subresource,
                          dry_run=dry_run))
    unchanged = after.get("metadata", {}).get("resourceVersion") == before.metadata.resourceVersion
    print_result(ctx, after, "patched (no change)" if unchanged and not dry_run else "patched")
    return 0
