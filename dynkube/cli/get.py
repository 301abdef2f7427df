"""``dynkube get``: objects of any kind as the server's tables, JSON, YAML, names, JSONPath or custom columns,
optionally followed by a watch."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError, describe_error
from .flags import BoolFlag
from .getopts import as_json, read_output_file, sort_path, sorted_objects
from .jsonpath import JSONPathError, Template
from .options import AddCommand, add_file_options
from .printing import (as_list, cell_text, custom_column_row, custom_columns, dump_json, dump_yaml, format_labels,
                       format_table, human_age, object_name, qualified_kind, without_managed_fields)
from .raw import add_raw_option, unless_raw
from .sources import read_manifests


def register(command: AddCommand) -> None:
    """Add ``get``."""
    p = command("get", unless_raw(get), "Show objects of any kind.",
                "examples:\n  dynkube get pods\n  dynkube get deploy,svc -n web -o wide\n"
                "  dynkube get all -A\n  dynkube get gizmos g1 -o yaml\n"
                "  dynkube get cm -o jsonpath='{range .items[*]}{.metadata.name}{\"\\n\"}{end}'\n"
                "  dynkube get pods -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName\n"
                "  dynkube get configmaps --watch\n  dynkube get --raw '/readyz?verbose'")
    add_raw_option(p)
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
    add_file_options(p)


_VERSION_PREFIX = re.compile(r"^v\d+(?:(?:alpha|beta)\d+)?/")
NAME_COLUMN = {"name": "Name", "type": "string", "format": "name", "priority": 0}
AGE_COLUMN = {"name": "Age", "type": "string", "format": "", "priority": 0}


@dataclass
class Target:
    """One resource type to show, and the names asked for (none: the whole collection)."""

    resource: dynkube.ResourceClient
    names: list[str] = field(default_factory=list)
    namespace: str | None = None  # a manifest's metadata.namespace (``get -f``), else -n / the context's


@dataclass(frozen=True)
class Output:
    kind: str  # table, wide, json, yaml, name, jsonpath, custom-columns
    argument: str = ""


def parse_output(value: str | None) -> Output:
    if not value:
        return Output("table")
    kind, sep, argument = value.partition("=")
    if kind in ("json", "yaml", "name", "wide") and not sep:
        return Output(kind)
    if kind in ("jsonpath", "custom-columns", "jsonpath-as-json", "jsonpath-file", "custom-columns-file"):
        if not argument:
            raise UsageError(f"-o {kind} needs a template: -o {kind}=...")
        if kind.endswith("-file"):
            return Output(kind.removesuffix("-file"), read_output_file(kind, argument))
        return Output(kind, argument)
    if kind in ("go-template", "go-template-file", "template", "templatefile"):
        raise UsageError(f"output format {kind!r} is not supported by dynkube: use json, yaml, name, wide, "
                         "jsonpath=TEMPLATE or custom-columns=SPEC")
    raise UsageError(f"unknown output format {value!r}: expected json, yaml, name, wide, jsonpath=TEMPLATE "
                     "or custom-columns=SPEC")


# ---- resolving what was asked ------------------------------------------------------------

def is_type_name(arg: str) -> bool:
    """True for kubectl's TYPE/NAME form (``pod/web``, ``deployment.apps/web``); false for the resource
    map's slashed names (``apps/v1/deployments``, ``v1/configmaps``)."""
    return arg.count("/") == 1 and not _VERSION_PREFIX.match(arg) or arg.count("/") >= 3


def resolve_types(ctx: Context, spec: str) -> list[dynkube.ResourceClient]:
    """``pods,svc``, ``all`` or any category (expanded first, as kubectl), any name the resource map knows."""
    found: dict[tuple[str, str], dynkube.ResourceClient] = {}
    for name in spec.split(","):
        if not name.strip():
            raise UsageError(f"empty resource name in {spec!r}")
        for rc in _resolve_one(ctx, name.strip()):
            found.setdefault((rc.group, rc.plural), rc)
    return list(found.values())


def _resolve_one(ctx: Context, name: str) -> list[dynkube.ResourceClient]:
    if name == "all" or ("." not in name and "/" not in name and ctx.client.api_resources(category=name, cached=True)):
        return [rc for rc in ctx.client.resources_in_category(name) if "list" in rc.resource.verbs]
    return [ctx.client.resource(name)]


def parse_targets(ctx: Context, args: list[str]) -> list[Target]:
    if not args:
        raise UsageError("you must specify the type of resource to get, e.g. 'dynkube get pods' "
                         "(see 'dynkube api-resources' for the types the server serves)")
    if is_type_name(args[0]):
        targets: dict[tuple[str, str], Target] = {}
        for arg in args:
            if not is_type_name(arg):
                raise UsageError(f"there is no need to specify a resource type as a separate argument when "
                                 f"passing arguments in resource/name form (got {arg!r})")
            kind, _, name = arg.rpartition("/")
            if not name:
                raise UsageError(f"missing name in {arg!r}")
            rc = ctx.client.resource(kind)
            targets.setdefault((rc.group, rc.plural), Target(rc)).names.append(name)
        return list(targets.values())
    return [Target(rc, list(args[1:])) for rc in resolve_types(ctx, args[0])]


def manifest_targets(ctx: Context) -> list[Target]:
    """What ``get -f`` shows: the objects the manifests name, consecutive objects of one resource and
    namespace in one target (so one table, as kubectl prints them). Broken documents fail first."""
    targets: list[Target] = []
    for source in ctx.args.filename:
        for where, body, problem in read_manifests(source, ctx.args.recursive):
            if body is None:
                raise dynkube.ManifestError(f"{where}: {problem}", source=where)
            rc = ctx.client.resource_for(body)
            in_body = body["metadata"].get("namespace") if rc.namespaced else None
            if in_body and ctx.args.namespace and in_body != ctx.args.namespace:
                raise dynkube.InvalidInput(f"{where}: the namespace of the object ({in_body!r}) does not match "
                                           f"--namespace={ctx.args.namespace}")
            last = targets[-1] if targets else None
            if last and (last.resource.group, last.resource.plural, last.namespace) == (rc.group, rc.plural, in_body):
                last.names.append(body["metadata"]["name"])
            else:
                targets.append(Target(rc, [body["metadata"]["name"]], in_body))
    if not targets:
        raise dynkube.ManifestError("no objects in the manifests given with -f")
    return targets


def _scope(ctx: Context, target: Target) -> tuple[str | None, bool]:
    """(namespace, all_namespaces) for one target: cluster-scoped resources take neither."""
    if not target.resource.namespaced:
        return None, False
    if target.namespace:
        return target.namespace, False
    if ctx.args.all_namespaces:
        return None, True
    return ctx.namespace, False


# ---- the command ---------------------------------------------------------------------------

def get(ctx: Context) -> int:
    args = ctx.args
    output = parse_output(args.output)
    template = _template(output)
    columns = _columns(output)
    if args.filename and (args.targets or args.selector or args.field_selector or args.all_namespaces):
        raise UsageError("-f names its objects: give no RESOURCE, selector or --all-namespaces with it")
    targets = manifest_targets(ctx) if args.filename else parse_targets(ctx, args.targets)
    if any(t.names for t in targets):
        if args.selector or args.field_selector:
            raise UsageError("names cannot be given together with a label or field selector")
        if args.all_namespaces and any(t.names and t.resource.namespaced for t in targets):
            raise UsageError("a resource cannot be retrieved by name across all namespaces")
    if (args.watch or args.watch_only) and (len(targets) > 1 or any(len(t.names) > 1 for t in targets)):
        raise UsageError("watch is only supported on one resource collection or one object")
    if args.subresource and (not all(t.names for t in targets) or args.watch or args.watch_only):
        raise UsageError("--subresource needs object names (and no --watch)")
    if args.output_watch_events and not (args.watch or args.watch_only):
        raise UsageError("--output-watch-events needs --watch or --watch-only")
    printer = ObjectPrinter(ctx, output, template)
    if args.watch_only:
        return _watch(ctx, targets[0], output, printer, columns, None, header_widths=None)
    show_kind = args.show_kind or len({(t.resource.group, t.resource.plural) for t in targets}) > 1
    if output.kind in ("table", "wide"):
        failed, widths, rv = _print_tables(ctx, targets, output.kind == "wide", show_kind)
    else:
        one_by_one = printer if args.watch and columns is None else None
        failed, rv = _print_structured(ctx, targets, output, template, columns, one_by_one)
        widths = None
    if args.watch:
        return _watch(ctx, targets[0], output, printer, columns, rv, header_widths=widths) or (1 if failed else 0)
    if failed:
        raise CommandFailed
    return 0


def _template(output: Output) -> Template | None:
    if output.kind != "jsonpath":
        return None
    try:
        return Template(output.argument)
    except JSONPathError as exc:
        raise UsageError(str(exc)) from None


def _columns(output: Output) -> list[tuple[str, tuple[Any, ...]]] | None:
    if output.kind != "custom-columns":
        return None
    try:
        return custom_columns(output.argument)
    except (ValueError, JSONPathError) as exc:
        raise UsageError(str(exc)) from None


def _no_resources(ctx: Context, targets: list[Target]) -> None:
    namespaced = any(t.resource.namespaced for t in targets)
    if namespaced and not ctx.args.all_namespaces:
        ctx.error(f"No resources found in {ctx.namespace} namespace.")
    else:
        ctx.error("No resources found")


# ---- structured output ------------------------------------------------------------------------

def _collect(ctx: Context, target: Target) -> tuple[list[dict[str, Any]], bool, str | None]:
    """(objects, failed, resourceVersion of the list) for one target; errors are printed as they happen."""
    rc = target.resource
    namespace, all_namespaces = _scope(ctx, target)
    failed = False
    objects: list[dict[str, Any]] = []
    if target.names:
        if all_namespaces:
            namespace = ctx.namespace
        for name in target.names:
            try:
                objects.append(rc.get(name, namespace, subresource=ctx.args.subresource))
            except dynkube.ApiError as exc:
                failed = _report(ctx, exc) or failed
        one = objects[0] if len(objects) == 1 else None  # a watch of one object starts at its version
        return objects, failed, (one.get("metadata") or {}).get("resourceVersion") if one else None
    version = None
    try:
        for page in rc.list_pages(namespace, all_namespaces=all_namespaces, label_selector=ctx.args.selector,
                                  field_selector=ctx.args.field_selector, limit=ctx.args.chunk_size or None):
            version = version or page.resource_version
            objects.extend(page.items)
    except dynkube.ApiError as exc:
        ctx.error(describe_error(exc))
        failed = True
    return objects, failed, version


def _report(ctx: Context, exc: dynkube.ApiError) -> bool:
    """Print an error of a named object (True: the command fails); --ignore-not-found skips NotFound."""
    if isinstance(exc, dynkube.NotFound) and ctx.args.ignore_not_found:
        return False
    ctx.error(describe_error(exc))
    return True


def _prepare(ctx: Context, obj: dict[str, Any]) -> dict[str, Any]:
    return dict(obj) if ctx.args.show_managed_fields else without_managed_fields(obj)


class ObjectPrinter:
    """Objects one at a time, as a watch prints them: JSON objects, YAML documents separated by ``---``,
    names, or the template applied to each object (not to a List)."""

    def __init__(self, ctx: Context, output: Output, template: Template | None) -> None:
        self.ctx, self.output, self.template = ctx, output, template
        self.printed = 0

    def print(self, obj: dict[str, Any], event: str = "ADDED") -> None:
        kind, out = self.output.kind, self.ctx.out
        if self.ctx.args.output_watch_events and kind in ("json", "yaml"):
            obj = {"type": event, "object": _prepare(self.ctx, obj)}
        if kind == "json":
            out.write(dump_json(_prepare(self.ctx, obj)))
        elif kind == "yaml":
            out.write(("---\n" if self.printed else "") + dump_yaml(_prepare(self.ctx, obj)))
        elif kind == "name":
            self.ctx.print(object_name(obj))
        elif kind == "jsonpath" and self.template is not None:
            out.write(self.template.render(obj))
        self.printed += 1


def _print_structured(ctx: Context, targets: list[Target], output: Output, template: Template | None,
                      columns: list[tuple[str, tuple[Any, ...]]] | None,
                      printer: ObjectPrinter | None = None) -> tuple[bool, str | None]:
    """Print what the targets name; with ``printer`` (a watch's), object by object rather than as a List."""
    objects: list[dict[str, Any]] = []
    failed, version = False, None
    for target in targets:
        found, target_failed, version = _collect(ctx, target)
        # kubectl hides managedFields in json and yaml only; templates see whole objects
        objects.extend(_prepare(ctx, o) if output.kind in ("json", "yaml") else o for o in found)
        failed = failed or target_failed
    if ctx.args.sort_by:
        objects = sorted_objects(objects, sort_path(ctx.args.sort_by), ctx.args.sort_by)
    if printer is not None:
        for obj in objects:
            printer.print(obj)
        return failed, version
    single = len(targets) == 1 and len(targets[0].names) == 1
    if single and not objects:
        return failed, version
    document: Any = objects[0] if single else as_list(objects)
    if output.kind == "json":
        ctx.out.write(dump_json(document))
    elif output.kind == "yaml":
        ctx.out.write(dump_yaml(document))
    elif output.kind == "name":
        for obj in objects:
            ctx.print(object_name(obj))
    elif output.kind == "jsonpath":
        assert template is not None
        ctx.out.write(template.render(document))
    elif output.kind == "jsonpath-as-json":
        ctx.out.write(as_json(output.argument, document))
    elif output.kind == "custom-columns":
        assert columns is not None
        headers = None if ctx.args.no_headers else [h for h, _ in columns]
        for line in format_table(headers, [custom_column_row(columns, o) for o in objects]):
            ctx.print(line)
    return failed, version


# ---- tables -----------------------------------------------------------------------------------

@dataclass
class Table:
    """One resource's rows as the server printed them (or the NAME/AGE fallback)."""

    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    resource_version: str | None = None
    failed: bool = False  # some named objects could not be shown (the errors were printed)


def fetch_table(ctx: Context, target: Target) -> Table:
    """The server's Table for a collection (LIST) or for named objects (a GET each, as kubectl: a user
    allowed to get an object need not be allowed to list its kind).

    A server that answers without a Table gets kubectl's fallback: NAME and AGE from the objects.
    """
    namespace, all_namespaces = _scope(ctx, target)
    if not ctx.args.server_print or ctx.args.sort_by:
        objects, failed, version = _collect(ctx, target)
        if ctx.args.sort_by:
            objects = sorted_objects(objects, sort_path(ctx.args.sort_by), ctx.args.sort_by)
        if not ctx.args.server_print:
            return Table(fallback_table(objects).columns, fallback_table(objects).rows, version, failed)
        return _in_order(_server_table(ctx, target, namespace, all_namespaces), objects)
    return _server_table(ctx, target, namespace, all_namespaces)


def _in_order(table: Table, objects: list[dict[str, Any]]) -> Table:
    """The table's rows in the order of ``objects`` (``--sort-by``)."""
    def identity(metadata: dict[str, Any]) -> tuple[str, str]:
        return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")

    rank = {identity(o.get("metadata") or {}): i for i, o in enumerate(objects)}
    table.rows.sort(key=lambda row: rank.get(identity((row.get("object") or {}).get("metadata") or {}), -1))
    return table


def _server_table(ctx: Context, target: Target, namespace: str | None, all_namespaces: bool) -> Table:
    rc, names = target.resource, target.names
    if names:
        if all_namespaces:
            namespace = ctx.namespace
        table = Table([], [])
        for name in names:
            try:
                part = object_table(rc.get(name, namespace, subresource=ctx.args.subresource, as_table=True))
            except dynkube.ApiError as exc:
                table.failed = _report(ctx, exc) or table.failed
                continue
            table.columns = table.columns or part.columns
            table.rows.extend(part.rows)
            table.resource_version = part.resource_version
        return table
    return _table_pages(ctx, rc, namespace, all_namespaces, ctx.args.selector, ctx.args.field_selector)


def object_table(answer: dict[str, Any]) -> Table:
    """The Table of a GET with the Table Accept header (the fallback's when the server sent the object)."""
    if answer.get("kind") != "Table":
        table = fallback_table([answer])
    else:
        table = Table(answer.get("columnDefinitions") or [], answer.get("rows") or [])
    table.resource_version = (answer.get("metadata") or {}).get("resourceVersion")
    return table


def _table_pages(ctx: Context, rc: dynkube.ResourceClient, namespace: str | None, all_namespaces: bool,
                 label_selector: str | None, field_selector: str | None) -> Table:
    table = Table([], [])
    for page in rc.list_pages(namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                              field_selector=field_selector, limit=ctx.args.chunk_size or None, as_table=True):
        if not isinstance(page, dynkube.TableList) or page.kind != "Table":
            return _fallback_table(rc, namespace, all_namespaces, label_selector, field_selector)
        table.columns = table.columns or page.columns
        table.rows.extend(page.rows)
        table.resource_version = table.resource_version or page.resource_version
    return table


def _fallback_table(rc: dynkube.ResourceClient, namespace: str | None, all_namespaces: bool,
                    label_selector: str | None, field_selector: str | None) -> Table:
    objects = list(rc.list(namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                           field_selector=field_selector))
    return fallback_table(objects)


def fallback_table(objects: Sequence[Mapping[str, Any]]) -> Table:
    """NAME and AGE rows built from whole objects, for servers without Table printing."""
    rows = [{"cells": [(o.get("metadata") or {}).get("name", ""),
                       human_age((o.get("metadata") or {}).get("creationTimestamp"))],
             "object": {"metadata": o.get("metadata") or {}}} for o in objects]
    return Table([NAME_COLUMN, AGE_COLUMN], rows)


@dataclass(frozen=True)
class TableOptions:
    wide: bool = False
    namespace_column: bool = False
    kind_prefix: str = ""
    show_labels: bool = False
    label_columns: tuple[str, ...] = ()


def table_grid(table: Table, options: TableOptions) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a server Table, with kubectl's additions (NAMESPACE, kind prefix, labels)."""
    shown = [i for i, c in enumerate(table.columns) if options.wide or not c.get("priority")]
    name_index = next((i for i, c in enumerate(table.columns) if c.get("format") == "name"), 0)
    headers = [str(table.columns[i].get("name", "")).upper() for i in shown]
    if options.namespace_column:
        headers.insert(0, "NAMESPACE")
    headers += [key.rpartition("/")[2].upper() for key in options.label_columns]
    if options.show_labels:
        headers.append("LABELS")
    rows = []
    for row in table.rows:
        rows.append(table_row(row, shown, name_index, options))
    return headers, rows


def table_row(row: dict[str, Any], shown: list[int], name_index: int, options: TableOptions) -> list[str]:
    cells = row.get("cells") or []
    metadata = (row.get("object") or {}).get("metadata") or {}
    labels = metadata.get("labels") or {}
    out = []
    for i in shown:
        text = cell_text(cells[i]) if i < len(cells) else ""
        if i == name_index and options.kind_prefix:
            text = f"{options.kind_prefix}/{text}"
        out.append(text)
    if options.namespace_column:
        out.insert(0, metadata.get("namespace", ""))
    out += [labels.get(key, "") for key in options.label_columns]
    if options.show_labels:
        out.append(format_labels(labels))
    return out


def _table_options(ctx: Context, rc: dynkube.ResourceClient, wide: bool, show_kind: bool) -> TableOptions:
    keys = tuple(k.strip() for spec in ctx.args.label_columns for k in spec.split(",") if k.strip())
    return TableOptions(wide=wide, namespace_column=bool(ctx.args.all_namespaces and rc.namespaced),
                        kind_prefix=qualified_kind(rc.api_version, rc.kind) if show_kind else "",
                        show_labels=ctx.args.show_labels, label_columns=keys)


def _print_tables(ctx: Context, targets: list[Target], wide: bool,
                  show_kind: bool) -> tuple[bool, list[int] | None, str | None]:
    failed, printed, widths, version = False, 0, None, None
    for target in targets:
        try:
            table = fetch_table(ctx, target)
        except dynkube.ApiError as exc:
            ctx.error(describe_error(exc))
            failed = True
            continue
        version = table.resource_version
        failed = failed or table.failed
        if not table.rows:
            continue
        headers, rows = table_grid(table, _table_options(ctx, target.resource, wide, show_kind))
        lines = format_table(None if ctx.args.no_headers else headers, rows)
        widths = column_widths([headers, *rows])
        if printed:
            ctx.print()
        for line in lines:
            ctx.print(line)
        printed += 1
    if not printed and not failed and not ctx.args.watch and not ctx.args.ignore_not_found:
        _no_resources(ctx, targets)
    return failed, widths, version


def column_widths(grid: list[list[str]]) -> list[int]:
    widths: list[int] = []
    for row in grid:
        for i, cell in enumerate(row):
            if i >= len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(cell))
    return widths


def _aligned(cells: list[str], widths: list[int] | None) -> str:
    if not widths:
        return format_table(None, [cells])[0]
    padded = [cell.ljust(max(widths[i] + 3, 6)) if i < len(widths) and i < len(cells) - 1 else cell
              for i, cell in enumerate(cells)]
    return "".join(padded).rstrip()


# ---- watch -------------------------------------------------------------------------------------

def _watch(ctx: Context, target: Target, output: Output, printer: ObjectPrinter,
           columns: list[tuple[str, tuple[Any, ...]]] | None, version: str | None,
           header_widths: list[int] | None) -> int:
    """Print each change after ``version`` (the listing's) until the watch ends (``--request-timeout``)
    or the user interrupts. Tables get the server's row for each object (a Table GET per event)."""
    rc = target.resource
    namespace, all_namespaces = _scope(ctx, target)
    if target.names and all_namespaces:
        namespace, all_namespaces = ctx.namespace, False
    field_selector = f"metadata.name={target.names[0]}" if target.names else ctx.args.field_selector
    if version is None and target.names:
        version = rc.get(target.names[0], namespace).metadata.resourceVersion
    elif version is None:
        first = rc.list_page(namespace, all_namespaces=all_namespaces, label_selector=ctx.args.selector,
                             field_selector=field_selector, limit=1)
        version = first.resource_version
    timeout = ctx.args.request_timeout
    watch = rc.watch(namespace, all_namespaces=all_namespaces, label_selector=ctx.args.selector,
                     field_selector=field_selector, resource_version=version,
                     timeout_seconds=max(1, int(timeout)) if timeout else None, resume=timeout is None)
    options = _table_options(ctx, rc, output.kind == "wide", False)
    known: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    header_printed = header_widths is not None
    with watch:
        for event in _events(watch):
            obj = event.object
            if output.kind in ("table", "wide"):
                headers, cells = _event_row(rc, obj, event.type.value, options, known)
                if ctx.args.output_watch_events:
                    headers, cells = ["EVENT", *headers], [event.type.value, *cells]
                if not header_printed:
                    header_widths = column_widths([headers, cells])
                    if not ctx.args.no_headers:
                        ctx.print(_aligned(headers, header_widths))
                    header_printed = True
                ctx.print(_aligned(cells, header_widths))
            elif columns is not None:
                if not header_printed and not ctx.args.no_headers:
                    ctx.print(_aligned([h for h, _ in columns], None))
                    header_printed = True
                ctx.print(_aligned(custom_column_row(columns, obj), None))
            else:
                printer.print(obj, event.type.value)
            ctx.out.flush()
    return 0


def _events(watch: Any) -> Iterator[Any]:
    for event in watch:
        if event.type.value != "BOOKMARK":
            yield event


def _event_table(rc: dynkube.ResourceClient, obj: dict[str, Any]) -> Table:
    """The server's row of an object a watch reported (none if it is gone meanwhile)."""
    metadata = obj.get("metadata") or {}
    try:
        return object_table(rc.get(metadata.get("name", ""), metadata.get("namespace") if rc.namespaced else None,
                                   as_table=True))
    except dynkube.NotFound:
        return Table([], [])


def _event_row(rc: dynkube.ResourceClient, obj: dict[str, Any], event_type: str, options: TableOptions,
               known: dict[tuple[str, str], tuple[list[str], list[str]]]) -> tuple[list[str], list[str]]:
    """(headers, cells) of an event's object: the server's row, else the last row seen, else NAME/AGE."""
    metadata = obj.get("metadata") or {}
    key = (metadata.get("namespace", ""), metadata.get("name", ""))
    if event_type != "DELETED":
        table = _event_table(rc, obj)
        if table.rows:
            headers, rows = table_grid(table, options)
            known[key] = (headers, rows[0])
            return known[key]
    if key in known:
        return known[key]
    headers, rows = table_grid(fallback_table([obj]), options)
    return headers, rows[0]
