"""Cordon, uncordon and drain a node, as ``kubectl cordon``/``uncordon``/``drain``.

Drain cordons the node, then evicts its pods through the Eviction API (``pods/eviction``), so
PodDisruptionBudgets are honoured: an eviction the budget refuses (429) is retried until the
timeout. Before evicting anything it checks every pod, as kubectl does: mirror pods are skipped,
DaemonSet pods are refused unless ``ignore_daemonsets`` (then skipped), pods with emptyDir data are
refused unless ``delete_emptydir_data``, and pods no controller manages are refused unless
``force`` (finished ones are always evicted). Refused pods stop the drain before any eviction,
with the node left cordoned (``DrainError`` says so).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import DrainError, InvalidInput, NotFound, TooManyRequests, WaitTimeout
from .waiting import wait_for
from .objects import ApiObject

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
RETRY_INTERVAL = 5.0  # kubectl drain's wait between evictions a disruption budget refused
DEFAULT_WORKERS = 8


@dataclass
class DrainResult:
    """What a drain did: the pods evicted (``namespace/name``), and those skipped, with why."""

    node: str
    evicted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def cordon(client: Client, node: str) -> bool:
    """Mark ``node`` unschedulable. Returns False when it already was (nothing sent)."""
    return _set_unschedulable(client, node, True)


def uncordon(client: Client, node: str) -> bool:
    """Mark ``node`` schedulable again. Returns False when it already was (nothing sent)."""
    return _set_unschedulable(client, node, False)


def _set_unschedulable(client: Client, node: str, value: bool) -> bool:
    if not isinstance(node, str) or not node:
        raise InvalidInput(f"a node name is needed, not {node!r}")
    nodes = client.resource("nodes")
    if bool((nodes.get(node).get("spec") or {}).get("unschedulable")) == value:
        return False
    nodes.patch(node, {"spec": {"unschedulable": True if value else None}})
    return True


def drain(client: Client, node: str, *, force: bool = False, ignore_daemonsets: bool = False,
          delete_emptydir_data: bool = False, pod_selector: str | None = None,
          grace_period_seconds: int | None = None, timeout: float | None = None,
          retry_interval: float = RETRY_INTERVAL, report: Callable[[str], None] | None = None) -> DrainResult:
    """Cordon ``node`` and evict its pods (those matching ``pod_selector`` only, if given), then
    wait until they are gone. ``report(line)`` receives kubectl drain's progress lines.

    Raises ``DrainError`` when pods are refused (nothing evicted; the node stays cordoned) and
    ``WaitTimeout`` when ``timeout`` seconds pass before every pod is evicted and gone (e.g. a
    disruption budget that never allows it).
    """
    _check_drain_arguments(node, grace_period_seconds, timeout, retry_interval)
    say = report or (lambda line: log.info("%s", line))
    deadline = None if timeout is None else time.monotonic() + timeout
    say(f"node/{node} {'cordoned' if cordon(client, node) else 'already cordoned'}")
    pods = list(client.resource("pods").list(all_namespaces=True, field_selector=f"spec.nodeName={node}",
                                             label_selector=pod_selector))
    result = DrainResult(node)
    to_evict = _select(client, node, pods, result, force, ignore_daemonsets, delete_emptydir_data, say)
    evict = _evictor(client, grace_period_seconds, deadline, retry_interval, say)
    with ThreadPoolExecutor(max_workers=DEFAULT_WORKERS) as pool:
        for name in pool.map(evict, to_evict):
            result.evicted.append(name)
    return result


def _check_drain_arguments(node: Any, grace: Any, timeout: Any, retry_interval: Any) -> None:
    if not isinstance(node, str) or not node:
        raise InvalidInput(f"a node name is needed, not {node!r}")
    if grace is not None and (type(grace) is not int or grace < 0):
        raise InvalidInput(f"grace_period_seconds must be a non-negative integer, not {grace!r}")
    for name, value in (("timeout", timeout), ("retry_interval", retry_interval)):
        if value is not None and (type(value) not in (int, float) or value <= 0):
            raise InvalidInput(f"{name} must be a positive number of seconds, not {value!r}")


def _select(client: Client, node: str, pods: list[ApiObject], result: DrainResult, force: bool,
            ignore_daemonsets: bool, delete_emptydir_data: bool, say: Callable[[str], None]) -> list[ApiObject]:
    """The pods to evict; refusals (kubectl's filters, in its order) raise DrainError."""
    refused: dict[str, list[str]] = {}
    warned: dict[str, list[str]] = {}
    chosen = []
    for pod in pods:
        name = f"{pod.metadata.namespace}/{pod.metadata.name}"
        verdict = _verdict(client, pod, force, ignore_daemonsets, delete_emptydir_data)
        if verdict is None:
            chosen.append(pod)
            continue
        action, reason = verdict
        if action == "refuse":
            refused.setdefault(reason, []).append(name)
        elif action == "skip":
            result.skipped.append((name, reason))
            if reason != "mirror pod":
                warned.setdefault(reason, []).append(name)
        else:  # evict, with a warning
            warned.setdefault(reason, []).append(name)
            chosen.append(pod)
    if refused:
        problems = "; ".join(f"{reason}: {', '.join(names)}" for reason, names in refused.items())
        raise DrainError(f"cannot drain node {node!r} (it is now cordoned, nothing was evicted): {problems}",
                         node=node, pods=[p for names in refused.values() for p in names])
    for reason, names in warned.items():
        say(f"Warning: {reason}: {', '.join(names)}")
    return chosen


def _verdict(client: Client, pod: ApiObject, force: bool, ignore_daemonsets: bool,
             delete_emptydir_data: bool) -> tuple[str, str] | None:
    """None to evict; else ("refuse" | "skip" | "warn", reason) as kubectl's drain filters decide."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    finished = status.get("phase") in ("Succeeded", "Failed")
    controller = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    if controller and controller.get("kind") == "DaemonSet" and controller.get("apiVersion", "").startswith("apps/"):
        if not _daemonset_exists(client, controller, meta.get("namespace")) and force:
            return "warn", "deleting Pods whose DaemonSet is gone"
        if not ignore_daemonsets:
            return "refuse", "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
        return "skip", "ignoring DaemonSet-managed Pods"
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return "skip", "mirror pod"
    if not finished and any("emptyDir" in v for v in spec.get("volumes") or []):
        if not delete_emptydir_data:
            return "refuse", "cannot delete Pods with local storage (use --delete-emptydir-data to override)"
        return "warn", "deleting Pods with local storage"
    if controller is None and not finished:
        if not force:
            return "refuse", "cannot delete Pods that declare no controller (use --force to override)"
        return "warn", "deleting Pods that declare no controller"
    return None


def _daemonset_exists(client: Client, ref: dict[str, Any], namespace: str | None) -> bool:
    try:
        client.resource("daemonsets.apps").get(str(ref.get("name")), namespace, metadata_only=True)
    except NotFound:
        return False
    return True


def _evictor(client: Client, grace: int | None, deadline: float | None, retry_interval: float,
             say: Callable[[str], None]) -> Callable[[ApiObject], str]:
    pods = client.resource("pods")

    def evict(pod: ApiObject) -> str:
        meta = pod["metadata"]
        name, namespace = str(meta["name"]), str(meta["namespace"])
        body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction",
                                "metadata": {"name": name, "namespace": namespace}}
        if grace is not None:
            body["deleteOptions"] = {"gracePeriodSeconds": grace}
        say(f"evicting pod {namespace}/{name}")
        while True:
            try:
                pods.create(body, namespace, subresource="eviction", name=name)
                break
            except NotFound:
                break  # already gone
            except TooManyRequests as exc:
                if deadline is not None and time.monotonic() + retry_interval > deadline:
                    raise WaitTimeout(f"drain timed out evicting pod {namespace}/{name}: {exc.message or exc}") \
                        from None
                say(f'error when evicting pods/"{name}" -n "{namespace}" (will retry after {retry_interval:g}s): '
                    f"{exc.message or exc}")
                time.sleep(retry_interval)
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        wait_for(pods, name, namespace, condition="delete", uid=str(meta.get("uid")),
                 timeout=float("inf") if remaining is None else remaining)
        say(f"pod/{name} evicted")
        return f"{namespace}/{name}"

    return evict
