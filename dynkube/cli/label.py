"""``dynkube label`` and ``dynkube annotate``: set or remove keys of an object's labels or annotations
(one command over two metadata maps, as kubectl's)."""

from __future__ import annotations

import dynkube

from .changes import add_change_options, one_type, print_result, selected_objects
from .context import CommandFailed, Context, UsageError
from .options import AddCommand
from .printing import object_name


def register(command: AddCommand) -> None:
    """Add ``label`` and ``annotate``."""
    for name, handler, field in (("label", label, "labels"), ("annotate", annotate, "annotations")):
        p = command(name, handler, f"Set or remove {field} of objects of any kind.",
                    f"examples:\n  dynkube {name} pods web tier=front\n  dynkube {name} deploy/web tier-\n"
                    f"  dynkube {name} cm -l app=web tier=back --overwrite\n  dynkube {name} gizmo g1 --list")
        add_change_options(p)
        p.add_argument("targets", nargs="+", metavar="TYPE NAME... | TYPE/NAME... KEY=VALUE... KEY-...")
        p.add_argument("--overwrite", action="store_true", help="allow changing existing values")
        p.add_argument("-l", "--selector", metavar="SELECTOR", help="the objects matching this label selector")
        p.add_argument("--all", action="store_true", help="every object of the type in the namespace")
        p.add_argument("--list", action="store_true", help=f"print the {field} (KEY=VALUE) instead of changing them")


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


def _metadata_command(ctx: Context, field: str, what: str, done: str) -> int:
    args = ctx.args
    spec, changes = _split_args(args.targets)
    if not spec:
        raise UsageError(f"{what} needs a resource type, e.g. 'dynkube {what} pods web KEY=VALUE'")
    setting, removing = parse_changes(changes, what)
    if not changes and not args.list:
        raise UsageError(f"{what} needs at least one change: KEY=VALUE or KEY-")
    [target] = one_type(ctx, spec, what)
    objects = selected_objects(ctx, target, what)
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
        print_result(ctx, raw, f"not {done}" if done == "labeled" else done)
        return True
    rc = ctx.client.resource_for(raw)
    patched = dict(rc.patch(obj.metadata.name, {"metadata": {field: change}},
                            obj.metadata.get("namespace"), patch_type="merge",
                            dry_run=ctx.args.dry_run == "server"))
    removed_only = all(v is None for v in change.values())
    print_result(ctx, patched, f"un{done}" if removed_only and done == "labeled" else done)
    return True


def label(ctx: Context) -> int:
    return _metadata_command(ctx, "labels", "label", "labeled")


def annotate(ctx: Context) -> int:
    return _metadata_command(ctx, "annotations", "annotate", "annotated")
