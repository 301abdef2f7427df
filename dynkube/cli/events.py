"""``dynkube events``: events oldest first, of a namespace or one object, optionally watched."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dynkube.events import Event, list_events, watch_events

from .context import Context
from .options import AddCommand
from .printing import age, as_list, dump_json, dump_yaml, format_table
from .targets import fetch_object, split_type_name


def register(command: AddCommand) -> None:
    """Add ``events``."""
    p = command("events", events, "List events, oldest first (of one object with --for).",
                "examples:\n  dynkube events -n web\n  dynkube events --for deploy/web --types=Warning\n"
                "  dynkube events -A --watch")
    p.add_argument("--for", dest="for_object", metavar="KIND/NAME", help="only the events about this object")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="events of every namespace")
    p.add_argument("--types", action="append", default=[], metavar="TYPES",
                   help="only these event types (Normal, Warning; comma-separated)")
    p.add_argument("-w", "--watch", action="store_true", help="after listing, print new events as they come")
    p.add_argument("--no-headers", action="store_true", help="omit the header line")
    p.add_argument("-o", "--output", choices=("json", "yaml"), help="output format")


def last_seen(event: Event, now: dt.datetime) -> str:
    """kubectl events' LAST SEEN: ``45s``, or ``45s (x3 over 5m)`` for a repeated event."""
    seen = age(event.last_seen, now)
    if event.count > 1:
        return f"{seen} (x{event.count} over {age(event.first_seen, now)})"
    return seen


def event_row(event: Event, now: dt.datetime, with_namespace: bool) -> list[str]:
    row = [last_seen(event, now), event.type, event.reason, event.object, event.message]
    return [event.namespace, *row] if with_namespace else row


EVENT_HEADERS = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


def events(ctx: Context) -> int:
    args = ctx.args
    types = [t.strip() for spec in args.types for t in spec.split(",") if t.strip()]
    target = None
    if args.for_object:
        rc, name = split_type_name(ctx, args.for_object, "--for")
        target = fetch_object(ctx, rc, name)
    namespace = None if args.all_namespaces else ctx.namespace
    options: dict[str, Any] = {"all_namespaces": args.all_namespaces, "for_object": target, "types": types}
    if args.watch:
        return _watch_events(ctx, namespace, options)
    found = list_events(ctx.client, namespace, **options)
    if args.output in ("json", "yaml"):
        document = as_list([e.raw for e in found])
        ctx.out.write(dump_json(document) if args.output == "json" else dump_yaml(document))
        return 0
    if not found:
        where = "any namespace" if args.all_namespaces else f"{namespace} namespace"
        ctx.error(f"No events found in {where}.")
        return 0
    now = dt.datetime.now(dt.timezone.utc)
    headers = (["NAMESPACE"] if args.all_namespaces else []) + EVENT_HEADERS
    for line in format_table(None if args.no_headers else headers,
                             [event_row(e, now, args.all_namespaces) for e in found]):
        ctx.print(line)
    return 0


def _watch_events(ctx: Context, namespace: str | None, options: dict[str, Any]) -> int:
    """One line per event as it comes (the current ones first), kubectl events --watch's columns."""
    with_namespace = bool(options["all_namespaces"])
    headers = (["NAMESPACE"] if with_namespace else []) + EVENT_HEADERS
    widths = [len(h) + 3 for h in headers[:-1]]
    if not ctx.args.no_headers:
        ctx.print(_fixed(headers, widths))
    for event in watch_events(ctx.client, namespace, **options):
        ctx.print(_fixed(event_row(event, dt.datetime.now(dt.timezone.utc), with_namespace), widths))
        ctx.out.flush()
    return 0


def _fixed(cells: list[str], widths: list[int]) -> str:
    """Cells padded to at least ``widths`` (a stream cannot be aligned to rows not yet seen)."""
    return "".join(c.ljust(w) for c, w in zip(cells, widths)) + cells[-1]
