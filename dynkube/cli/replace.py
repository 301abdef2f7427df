"""``dynkube replace -f FILE``: PUT each object of the manifests, with the live object's resourceVersion
when the manifest has none; ``--force`` deletes each object and creates it again, as kubectl."""

from __future__ import annotations

import copy
from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError, describe_error
from .flags import ValueAfterEquals
from .options import AddCommand
from .printing import qualified_kind
from .sources import read_manifests


def register(command: AddCommand) -> None:
    p = command("replace", replace, "Replace objects by their manifests (PUT; --force: delete and re-create).",
                "examples:\n  dynkube replace -f web.yaml\n  dynkube replace -f web.yaml --force")
    p.set_defaults(mutates=True)
    p.add_argument("-f", "--filename", action="append", default=[], metavar="FILE|DIR|URL|-",
                   help="manifest file, directory, http(s) URL or '-' for stdin (repeatable)")
    p.add_argument("-R", "--recursive", action="store_true", help="walk directories recursively")
    p.add_argument("--force", action="store_true", help="delete each object, wait until it is gone, create it")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="with --force: how long to wait for the deletion (default 60)")
    p.add_argument("--dry-run", action=ValueAfterEquals, const="server", choices=("none", "server"),
                   help="'server': the server checks the replacement without doing it")
    p.add_argument("--field-manager", default="dynkube-replace", metavar="NAME",
                   help="field manager (default dynkube-replace)")


def replace(ctx: Context) -> int:
    args = ctx.args
    if not args.filename:
        raise UsageError("must specify -f FILE|DIR|URL|- with the objects to replace")
    if args.force and args.dry_run == "server":
        raise UsageError("--force cannot be combined with --dry-run")
    failed = total = 0
    for source in args.filename:
        for where, body, problem in read_manifests(source, args.recursive):
            total += 1
            if body is None:
                ctx.error(f"error: {where}: {problem}")
                failed += 1
                continue
            try:
                _force(ctx, body) if args.force else _put(ctx, body)
            except dynkube.DynkubeError as exc:
                text = describe_error(exc)
                ctx.error(text.replace("): ", f"): error when replacing {where}: ", 1) if text.startswith("Error from")
                          else f"error: {where}: {text.removeprefix('error: ')}")
                failed += 1
    if not total:
        raise dynkube.ManifestError("no objects passed to replace")
    if failed:
        raise CommandFailed
    return 0


def _label(obj: dict[str, Any]) -> str:
    return f"{qualified_kind(str(obj.get('apiVersion') or ''), str(obj.get('kind') or ''))}/" \
           f"{(obj.get('metadata') or {}).get('name', '')}"


def _put(ctx: Context, body: dict[str, Any]) -> None:
    rc = ctx.client.resource_for(body)
    body = copy.deepcopy(body)
    metadata = body.setdefault("metadata", {})
    if not metadata.get("resourceVersion"):  # the live one: a change made since is then a conflict
        name = metadata.get("name")
        if not name:
            raise dynkube.InvalidInput("the object has no metadata.name")
        live = rc.get(str(name), ctx.args.namespace or metadata.get("namespace"))
        metadata["resourceVersion"] = live.metadata.resourceVersion
    rc.replace(body, ctx.args.namespace, dry_run=ctx.args.dry_run == "server", field_manager=ctx.args.field_manager)
    ctx.print(f"{_label(body)} replaced" + (" (server dry run)" if ctx.args.dry_run == "server" else ""))
    ctx.out.flush()


def _force(ctx: Context, body: dict[str, Any]) -> None:
    rc = ctx.client.resource_for(body)
    metadata = body.get("metadata") or {}
    name = str(metadata.get("name") or "")
    if not name:
        raise dynkube.InvalidInput("the object has no metadata.name")
    namespace = ctx.args.namespace or metadata.get("namespace")
    try:
        answer = rc.delete(name, namespace)
    except dynkube.NotFound:
        pass
    else:
        uid = (answer.get("metadata") if answer.get("kind") != "Status" else answer.get("details") or {}) or {}
        ctx.print(f'{qualified_kind(rc.api_version, rc.kind)} "{name}" deleted')
        dynkube.wait_for(rc, name, namespace, condition="delete", uid=uid.get("uid"), timeout=ctx.args.timeout)
    fresh = copy.deepcopy(body)
    fresh.setdefault("metadata", {}).pop("resourceVersion", None)
    rc.create(fresh, ctx.args.namespace, field_manager=ctx.args.field_manager)
    ctx.print(f"{_label(body)} replaced")
    ctx.out.flush()
