"""patch, label, annotate and scale over any kind (scale through the ``scale`` subresource)."""

from __future__ import annotations

import json
from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError
from .get import Target, parse_targets
from .printing import dump_json, dump_yaml, object_name, without_managed_fields


def _print_result(ctx: Context, obj: dict[str, Any], message: str) -> None:
    """``-o name|json|yaml`` of the changed object, else kubectl's ``KIND/NAME MESSAGE`` line."""
    output = ctx.args.output
    if output == "name":
        ctx.print(object_name(obj))
    elif output in ("json", "yaml"):
        shown = without_managed_fields(obj)
        ctx.out.write(dump_json(shown) if output == "json" else dump_yaml(shown))
    else:
        ctx.print(f"{object_name(obj)} {message}")


def _split_type_names(ctx: Context, args: list[str], what: str) -> list[Target]:
    targets = parse_targets(ctx, args)
    if len(targets) != 1:
        raise UsageError(f"{what} takes objects of one type")
    return targets


def _namespace(ctx: Context, rc: dynkube.ResourceClient) -> str | None:
    return ctx.namespace if rc.namespaced else None


# ---- patch -------------------------------------------------------------------------------------

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
    [target] = _split_type_names(ctx, args.targets, "patch")
    if len(target.names) != 1:
        raise UsageError("patch takes one object: TYPE NAME or TYPE/NAME")
    rc, name = target.resource, target.names[0]
    if args.subresource and not any(s.name == args.subresource for s in rc.resource.subresources):
        raise dynkube.InvalidInput(f"{rc.plural} has no {args.subresource!r} subresource")
    namespace = _namespace(ctx, rc)
    before = rc.get(name, namespace, subresource=args.subresource)
    dry_run = args.dry_run == "server"
    after = dict(rc.patch(name, body, namespace, patch_type=args.type, subresource=args.subresource,
                          dry_run=dry_run))
    unchanged = after.get("metadata", {}).get("resourceVersion") == before.metadata.resourceVersion
    _print_result(ctx, after, "patched (no change)" if unchanged and not dry_run else "patched")
    return 0


# ---- label / annotate --------------------------------------------------------------------------

def parse_changes(specs: list[str], what: str) -> tuple[dict[str, str], list[str]]:
    """``KEY=VALUE`` to set and ``KEY-`` to remove."""
    setting: dict[str, str] = {}
    removing: list[str] = []
    for spec in specs:
        key, sep, value = spec.partition("=")
        if sep and key:
            setting[key] = value
        elif spec.endswith("-") and len(spec) > 1:
            removing.append(spec[:-1])
        else:
            raise UsageError(f"invalid {what} {spec!r}: expected KEY=VALUE or KEY-")
    both = set(setting) & set(removing)
    if both:
        raise UsageError(f"can not both modify and remove {what}s in the same command: {', '.join(sorted(both))}")
    return setting, removing


def _split_args(items: list[str]) -> tuple[list[str], list[str]]:
    """The objects (TYPE NAME... or TYPE/NAME...) and the changes (KEY=VALUE, KEY-) after them."""
    changes = [a for a in items if "=" in a or (a.endswith("-") and "/" not in a)]
    return [a for a in items if a not in changes], changes


def _objects(ctx: Context, target: Target, what: str) -> list[dynkube.ApiObject]:
    args = ctx.args
    rc = target.resource
    namespace = _namespace(ctx, rc)
    if args.selector or args.all:
        if target.names:
            raise UsageError(f"{what}: names cannot be given with -l/--all")
        return list(rc.list(namespace, label_selector=args.selector or None))
    if not target.names:
        raise UsageError(f"{what}: give the objects' names, -l SELECTOR or --all")
    return [rc.get(name, namespace) for name in target.names]


def _metadata_command(ctx: Context, field: str, what: str, done: str) -> int:
    args = ctx.args
    spec, changes = _split_args(args.targets)
    if not spec:
        raise UsageError(f"{what} needs a resource type, e.g. 'dynkube {what} pods web KEY=VALUE'")
    setting, removing = parse_changes(changes, what)
    if not changes and not args.list:
        raise UsageError(f"{what} needs at least one change: KEY=VALUE or KEY-")
    [target] = _split_type_names(ctx, spec, what)
    objects = _objects(ctx, target, what)
    if args.list:
        for obj in objects:
            for key, value in sorted((obj.metadata.get(field) or {}).items()):
                ctx.print(f"{key}={value}")
        return 0
    for obj in objects:
        current = dict(obj.metadata.get(field) or {})
        clash = [k for k, v in setting.items() if k in current and current[k] != v]
        if clash and not args.overwrite:
            raise dynkube.InvalidInput(f"{object_name(obj)}: {clash[0]!r} already has a value ({current[clash[0]]}), "
                                       "and --overwrite is false")
    failed = False
    for obj in objects:
        failed |= not _change_metadata(ctx, obj, field, setting, removing, done)
    if failed:
        raise CommandFailed()
    return 0


def _change_metadata(ctx: Context, obj: dynkube.ApiObject, field: str, setting: dict[str, str],
                     removing: list[str], done: str) -> bool:
    current = dict(obj.metadata.get(field) or {})
    for key in removing:
        if key not in current:
            ctx.error(f"{field[:-1]} \"{key}\" not found.")
    change: dict[str, str | None] = {k: v for k, v in setting.items() if current.get(k) != v}
    change |= {k: None for k in removing if k in current}
    raw = dict(obj)
    if not change:
        _print_result(ctx, raw, f"not {done}" if done == "labeled" else done)
        return True
    rc = ctx.client.resource_for(raw)
    patched = dict(rc.patch(obj.metadata.name, {"metadata": {field: change}},
                            obj.metadata.get("namespace"), patch_type="merge",
                            dry_run=ctx.args.dry_run == "server"))
    removed_only = all(v is None for v in change.values())
    _print_result(ctx, patched, f"un{done}" if removed_only and done == "labeled" else done)
    return True


def label(ctx: Context) -> int:
    return _metadata_command(ctx, "labels", "label", "labeled")


def annotate(ctx: Context) -> int:
    return _metadata_command(ctx, "annotations", "annotate", "annotated")


# ---- scale -------------------------------------------------------------------------------------

def scale(ctx: Context) -> int:
    args = ctx.args
    if args.replicas < 0:
        raise UsageError("--replicas must be 0 or more")
    [target] = _split_type_names(ctx, args.targets, "scale")
    if not any(s.name == "scale" for s in target.resource.resource.subresources):
        raise dynkube.InvalidInput(f"{target.resource.plural} has no scale subresource: its objects cannot be scaled")
    rc = target.resource
    for obj in _objects(ctx, target, "scale"):
        name, namespace = obj.metadata.name, obj.metadata.get("namespace")
        if args.current_replicas is not None:
            current = rc.get(name, namespace, subresource="scale").get("spec", {}).get("replicas", 0)
            if current != args.current_replicas:
                ctx.error(f"error: Expected replicas to be {args.current_replicas}, was {current}")
                raise CommandFailed()
        rc.patch(name, {"spec": {"replicas": args.replicas}}, namespace, patch_type="merge", subresource="scale",
                 dry_run=args.dry_run == "server")
        _print_result(ctx, dict(obj), "scaled")
    return 0
