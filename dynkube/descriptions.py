"""Describe any object: the fields a person needs, then its events, as ``kubectl describe``.

Kind-aware for the built-ins kubectl describes well (Pod, Deployment, Service, Node, Namespace):
the same field names and values as kubectl. Every other kind, CRDs included, gets the generic
description: its identity and metadata, the server's printer columns (a CRD's
``additionalPrinterColumns``), owners, ``status.conditions`` as a table with ages, a summary of
``spec`` and ``status``, and its events. ``describe()`` returns a ``Description`` (structured
fields); ``Description.render()`` is the text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ApiError, InvalidInput
from .events import events_for, parse_time
from .objects import ApiObject

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_SUMMARY_LINES = 40  # of spec and of status in the generic description
NONE = "<none>"


@dataclass(frozen=True, slots=True)
class Table:
    """A table inside a description (conditions, events, containers' ports...)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    rule: bool = True  # a line of dashes under the headers


@dataclass(frozen=True, slots=True)
class Field:
    """One line (or block) of a description: a value, several lines, a table, or nested fields."""

    name: str
    value: str | tuple[str, ...] | Table | tuple[Field, ...] = ""


@dataclass(frozen=True, slots=True)
class Description:
    """What ``describe`` found out about one object."""

    kind: str
    name: str
    namespace: str
    fields: tuple[Field, ...]
    raw: ApiObject = field(compare=False, repr=False)

    def field(self, name: str) -> Field | None:
        """The top-level field named ``name`` (e.g. ``"Conditions"``), if there is one."""
        return next((f for f in self.fields if f.name == name), None)

    def render(self) -> str:
        """The description as text, kubectl's layout: ``Name:  value``, nested fields indented."""
        return "\n".join(_render(self.fields, 0)) + "\n"


def describe(client: Client, obj: Mapping[str, Any], *, now: dt.datetime | None = None) -> Description:
    """Describe ``obj`` (as read from the server; any kind) and its events.

    Makes a few reads: the object's events, its server-printed row (printer columns), and what a
    kind-aware description needs (a Deployment's ReplicaSets, a Node's pods).
    """
    if not isinstance(obj, Mapping) or not isinstance(obj.get("metadata"), Mapping) or not obj.get("kind"):
        raise InvalidInput("describe needs an object read from the server (with kind and metadata)")
    doc = obj if isinstance(obj, ApiObject) else ApiObject(obj)
    now = now or dt.datetime.now(dt.timezone.utc)
    builder = _KINDS.get((_group(doc), str(doc.get("kind"))), _generic)
    fields = builder(client, doc, now)
    fields.append(Field("Events", _events_table(client, doc, now)))
    meta = doc["metadata"]
    return Description(str(doc["kind"]), str(meta.get("name", "")), str(meta.get("namespace") or ""),
                       tuple(fields), doc)


# ---- rendering -----------------------------------------------------------------------------------

def _render(fields: tuple[Field, ...], depth: int) -> list[str]:
    lines: list[str] = []
    indent = "  " * depth
    width = max((len(f.name) + 3 for f in fields if _inline(f)), default=0)
    for f in fields:
        value = f.value
        if isinstance(value, Table):
            if not value.rows:
                lines.append(f"{indent}{f.name + ':':<{width}}{NONE}")
                continue
            lines.append(f"{indent}{f.name}:")
            lines.extend(indent + "  " + row for row in _table_lines(value))
        elif isinstance(value, tuple) and value and isinstance(value[0], Field):
            lines.append(f"{indent}{f.name}:")
            lines.extend(_render(value, depth + 1))
        elif isinstance(value, tuple):
            first, *rest = value or (NONE,)
            lines.append(f"{indent}{f.name + ':':<{width}}{first}")
            lines.extend(f"{indent}{'':<{width}}{line}" for line in rest)
        else:
            lines.append(f"{indent}{f.name + ':':<{width}}{value}".rstrip())
    return lines


def _inline(f: Field) -> bool:
    value = f.value
    return not (isinstance(value, Table) and value.rows) and not (
        isinstance(value, tuple) and value and isinstance(value[0], Field))


def _table_lines(table: Table) -> list[str]:
    grid = [table.headers, *([tuple("-" * len(h) for h in table.headers)] if table.rule else []), *table.rows]
    widths = [max(len(row[i]) for row in grid) for i in range(len(table.headers))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in grid]


# ---- shared pieces --------------------------------------------------------------------------------

def _group(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def age(value: Any, now: dt.datetime) -> str:
    """A timestamp as kubectl's short age (``45s``, ``3m20s``, ``5d``); ``<unknown>`` if unset."""
    when = parse_time(value)
    if when is None:
        return "<unknown>"
    seconds = int((now - when).total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    return f"{days}d"


def timestamp(value: Any) -> str:
    """A timestamp as kubectl describe writes it (RFC 1123 with a numeric zone)."""
    when = parse_time(value)
    return when.strftime("%a, %d %b %Y %H:%M:%S %z") if when else "<unset>"


def _labels(labels: Any) -> tuple[str, ...]:
    return tuple(f"{k}={v}" for k, v in sorted((labels or {}).items())) or (NONE,)


def _annotations(annotations: Any) -> tuple[str, ...]:
    shown = {k: v for k, v in (annotations or {}).items() if k != LAST_APPLIED}
    return tuple(f"{k}: {v}" for k, v in sorted(shown.items())) or (NONE,)


def _selector(selector: Any) -> str:
    if not isinstance(selector, Mapping):
        return NONE
    labels = selector.get("matchLabels") if "matchLabels" in selector or "matchExpressions" in selector \
        else selector
    terms = [f"{k}={v}" for k, v in sorted((labels or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        values = ",".join(expr.get("values") or [])
        terms.append(f"{expr.get('key')} {str(expr.get('operator', '')).lower()} ({values})")
    return ",".join(terms) or NONE


def _controller(meta: Mapping[str, Any]) -> Field | None:
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return Field("Controlled By", f"{ref.get('kind')}/{ref.get('name')}")
    return None


def _owners(meta: Mapping[str, Any]) -> Field | None:
    refs = meta.get("ownerReferences") or []
    if not refs:
        return None
    return Field("Owner References", Table(("Kind", "Name", "Controller", "UID"), tuple(
        (str(r.get("kind")), str(r.get("name")), str(bool(r.get("controller"))).lower(), str(r.get("uid")))
        for r in refs)))


def _conditions(obj: Mapping[str, Any], now: dt.datetime, *, kubectl: tuple[str, ...] | None = None,
                rule: bool = True) -> Field:
    """status.conditions as a table: kubectl's columns for a built-in, else readable ones with ages."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    if kubectl is not None:
        keys = {"Type": "type", "Status": "status", "Reason": "reason", "Message": "message"}
        return Field("Conditions", Table(kubectl, tuple(tuple(str(c.get(keys[h], "")) for h in kubectl)
                                                       for c in conditions), rule))
    return Field("Conditions", Table(("Type", "Status", "Reason", "Age", "Message"), tuple(
        (str(c.get("type", "")), str(c.get("status", "")), str(c.get("reason", "")),
         age(c.get("lastTransitionTime"), now), str(c.get("message", ""))) for c in conditions)))


def _events_table(client: Client, obj: ApiObject, now: dt.datetime) -> Table:
    try:
        found = events_for(client, obj)
    except ApiError as exc:  # e.g. a user who may read the object but not events
        log.warning("events of %s %s not shown: %s", obj.get("kind"), obj["metadata"].get("name"), exc)
        return Table(("Type", "Reason", "Age", "From", "Message"), ())
    rows = []
    for e in found:
        seen = age(e.last_seen.isoformat() if e.last_seen else None, now)
        if e.count > 1:
            seen = f"{seen} (x{e.count} over {age(e.first_seen.isoformat() if e.first_seen else None, now)})"
        rows.append((e.type, e.reason, seen, e.source, e.message))
    return Table(("Type", "Reason", "Age", "From", "Message"), tuple(rows))


def _identity(obj: ApiObject, *, created: bool = True) -> list[Field]:
    meta = obj["metadata"]
    fields = [Field("Name", str(meta.get("name", "")))]
    if meta.get("namespace"):
        fields.append(Field("Namespace", str(meta["namespace"])))
    if created:
        fields.append(Field("CreationTimestamp", timestamp(meta.get("creationTimestamp"))))
    fields += [Field("Labels", _labels(meta.get("labels"))),
               Field("Annotations", _annotations(meta.get("annotations")))]
    return fields


# ---- the generic description (any kind, CRDs included) -------------------------------------------

def _generic(client: Client, obj: ApiObject, now: dt.datetime) -> list[Field]:
    meta = obj["metadata"]
    fields = [Field("Name", str(meta.get("name", "")))]
    if meta.get("namespace"):
        fields.append(Field("Namespace", str(meta["namespace"])))
    fields += [Field("Kind", f"{obj.get('kind')} ({obj.get('apiVersion')})"),
               Field("Created", f"{age(meta.get('creationTimestamp'), now)} ago "
                                f"({timestamp(meta.get('creationTimestamp'))})"),
               Field("Labels", _labels(meta.get("labels"))),
               Field("Annotations", _annotations(meta.get("annotations")))]
    if meta.get("deletionTimestamp"):
        fields.append(Field("Deleting", f"since {age(meta['deletionTimestamp'], now)} "
                                        f"(finalizers: {', '.join(meta.get('finalizers') or []) or NONE})"))
    fields += [f for f in (_controller(meta), _owners(meta)) if f]
    columns = _printer_columns(client, obj)
    if columns:
        fields.append(Field("Columns", columns))
    for part in ("spec", "status"):
        value = obj.get(part)
        if part == "status" and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k != "conditions"}
        if value:
            fields.append(Field(part.capitalize(), _summary(value)))
    if (obj.get("status") or {}).get("conditions"):
        fields.append(_conditions(obj, now))
    return fields


def _printer_columns(client: Client, obj: ApiObject) -> tuple[Field, ...]:
    """The server's printed row of the object (a CRD's additionalPrinterColumns), without Name and Age."""
    meta = obj["metadata"]
    try:
        rc = client.resource_for(obj)
        table = rc.get(str(meta["name"]), meta.get("namespace") if rc.namespaced else None, as_table=True)
    except ApiError as exc:
        log.debug("no printer columns for %s: %s", meta.get("name"), exc)
        return ()
    columns, rows = table.get("columnDefinitions") or [], table.get("rows") or []
    if not columns or not rows:
        return ()
    cells = rows[0].get("cells") or []
    return tuple(Field(str(c.get("name")), _cell(cell)) for c, cell in zip(columns, cells)
                 if c.get("name") not in ("Name", "Age") and not c.get("priority"))


def _cell(value: Any) -> str:
    return NONE if value is None or value == "" else str(value)


def _summary(value: Any) -> tuple[Field, ...] | str:
    """A spec or status as nested fields (lists of scalars joined, long lists cut), at most
    MAX_SUMMARY_LINES lines."""
    budget = [MAX_SUMMARY_LINES]

    def walk(v: Any) -> tuple[Field, ...] | str:
        if isinstance(v, Mapping):
            out: list[Field] = []
            for key, item in v.items():
                if budget[0] <= 0:
                    out.append(Field("...", f"({len(v) - len(out)} more)"))
                    break
                budget[0] -= 1
                out.append(Field(str(key), walk(item)))
            return tuple(out) or "{}"
        if isinstance(v, list):
            if all(not isinstance(i, (Mapping, list)) for i in v):
                return ", ".join(map(str, v)) or "[]"
            return tuple(Field(f"[{i}]", walk(item)) for i, item in enumerate(v[:5])) + (
                (Field("...", f"({len(v) - 5} more)"),) if len(v) > 5 else ())
        return str(v).lower() if isinstance(v, bool) else str(v)

    return walk(value)


# ---- kind-aware descriptions ---------------------------------------------------------------------

def _pod(client: Client, pod: ApiObject, now: dt.datetime) -> list[Field]:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    node = spec.get("nodeName")
    fields = _identity(pod, created=False)[:2] + [
        Field("Priority", str(spec.get("priority", 0))),
        Field("Node", f"{node}/{status.get('hostIP')}" if node and status.get("hostIP") else node or NONE),
        Field("Start Time", timestamp(status.get("startTime"))),
        *_identity(pod, created=False)[2:],
        Field("Status", "Terminating" if meta.get("deletionTimestamp") else str(status.get("phase", ""))),
        Field("IP", str(status.get("podIP") or "")),
    ]
    fields += [f for f in (_controller(meta),) if f]
    states = {c.get("name"): c for c in status.get("containerStatuses") or []}
    fields.append(Field("Containers", tuple(Field(str(c.get("name")), _container(c, states.get(c.get("name"))))
                                            for c in spec.get("containers") or [])))
    fields.append(_conditions(pod, now, kubectl=("Type", "Status"), rule=False))
    fields.append(Field("QoS Class", str(status.get("qosClass", ""))))
    fields.append(Field("Node-Selectors", _labels(spec.get("nodeSelector"))))
    return fields


def _container(container: Mapping[str, Any], state: Mapping[str, Any] | None) -> tuple[Field, ...]:
    fields = [Field("Image", str(container.get("image", "")))]
    if state:
        current = state.get("state") or {}
        name = next(iter(current), "")
        fields += [Field("State", name.capitalize()), Field("Ready", str(bool(state.get("ready")))),
                   Field("Restart Count", str(state.get("restartCount", 0)))]
    return tuple(fields)


def _deployment(client: Client, deploy: ApiObject, now: dt.datetime) -> list[Field]:
    spec, status = deploy.get("spec") or {}, deploy.get("status") or {}
    replicas = spec.get("replicas", 1)
    updated, total = status.get("updatedReplicas", 0), status.get("replicas", 0)
    available, unavailable = status.get("availableReplicas", 0), status.get("unavailableReplicas", 0)
    strategy = spec.get("strategy") or {}
    fields = _identity(deploy) + [
        Field("Selector", _selector(spec.get("selector"))),
        Field("Replicas", f"{replicas} desired | {updated} updated | {total} total | {available} available | "
                          f"{unavailable} unavailable"),
        Field("StrategyType", str(strategy.get("type", ""))),
        Field("MinReadySeconds", str(spec.get("minReadySeconds", 0)))]
    rolling = strategy.get("rollingUpdate")
    if rolling:
        fields.append(Field("RollingUpdateStrategy", f"{rolling.get('maxUnavailable')} max unavailable, "
                                                     f"{rolling.get('maxSurge')} max surge"))
    fields.append(_conditions(deploy, now, kubectl=("Type", "Status", "Reason")))
    new, old = _replica_sets(client, deploy)
    fields.append(Field("OldReplicaSets", ", ".join(map(_rs_line, old)) or NONE))
    fields.append(Field("NewReplicaSet", _rs_line(new) if new else NONE))
    return fields


def _rs_line(rs: ApiObject) -> str:
    return f"{rs['metadata']['name']} ({(rs.get('status') or {}).get('replicas', 0)}/" \
           f"{(rs.get('spec') or {}).get('replicas', 0)} replicas created)"


def _replica_sets(client: Client, deploy: ApiObject) -> tuple[ApiObject | None, list[ApiObject]]:
    """A Deployment's current ReplicaSet (same revision) and the older ones that still have pods."""
    meta = deploy["metadata"]
    revision = (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision")
    owned = [rs for rs in client.resource("replicasets.apps").list(meta.get("namespace"))
             if any(r.get("uid") == meta.get("uid") for r in rs["metadata"].get("ownerReferences") or [])]
    rev = "deployment.kubernetes.io/revision"
    new = next((rs for rs in owned if (rs["metadata"].get("annotations") or {}).get(rev) == revision), None)
    old = [rs for rs in owned if rs is not new and (rs.get("spec") or {}).get("replicas")]
    return new, old


def _service(client: Client, svc: ApiObject, now: dt.datetime) -> list[Field]:
    spec = svc.get("spec") or {}
    fields = _identity(svc, created=False) + [
        Field("Selector", ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or NONE),
        Field("Type", str(spec.get("type", ""))),
        Field("IP Family Policy", str(spec.get("ipFamilyPolicy", ""))),
        Field("IP Families", ",".join(spec.get("ipFamilies") or []) or NONE),
        Field("IP", str(spec.get("clusterIP", ""))),
        Field("IPs", ",".join(spec.get("clusterIPs") or []) or NONE)]
    for port in spec.get("ports") or []:
        fields.append(Field("Port", f"{port.get('name') or '<unset>'}  {port.get('port')}/{port.get('protocol')}"))
        fields.append(Field("TargetPort", f"{port.get('targetPort')}/{port.get('protocol')}"))
    fields.append(Field("Session Affinity", str(spec.get("sessionAffinity", ""))))
    return fields


def _node(client: Client, node: ApiObject, now: dt.datetime) -> list[Field]:
    meta, spec, status = node["metadata"], node.get("spec") or {}, node.get("status") or {}
    roles = sorted(k.partition("/")[2] for k in meta.get("labels") or {}
                   if k.startswith("node-role.kubernetes.io/"))
    taints = tuple(f"{t.get('key')}" + (f"={t['value']}" if t.get("value") else "") + f":{t.get('effect')}"
                   for t in spec.get("taints") or [])
    identity = _identity(node)
    fields = identity[:1] + [Field("Roles", ",".join(roles) or NONE)] + identity[1:] + [
        Field("Taints", taints or (NONE,)),
        Field("Unschedulable", str(bool(spec.get("unschedulable"))).lower()),
        _conditions(node, now, kubectl=("Type", "Status", "Reason", "Message")),
        Field("Addresses", tuple(Field(str(a.get("type")), str(a.get("address")))
                                 for a in status.get("addresses") or []) or NONE)]
    for part in ("capacity", "allocatable"):
        values = status.get(part) or {}
        fields.append(Field(part.capitalize(), tuple(Field(k, str(v)) for k, v in values.items()) or NONE))
    return fields


def _namespace(client: Client, ns: ApiObject, now: dt.datetime) -> list[Field]:
    fields = _identity(ns, created=False)
    return [*fields, Field("Status", str((ns.get("status") or {}).get("phase", "")))]


Builder = Callable[["Client", ApiObject, dt.datetime], list[Field]]
_KINDS: dict[tuple[str, str], Builder] = {
    ("", "Pod"): _pod, ("apps", "Deployment"): _deployment, ("", "Service"): _service, ("", "Node"): _node,
    ("", "Namespace"): _namespace,
}
