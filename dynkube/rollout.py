"""Rollouts, as ``kubectl rollout``: status (with kubectl's messages), restart, history and undo.

Status follows kubectl's rules for Deployments, StatefulSets and DaemonSets. Every other kind
(CRDs included) gets a generic rule: the spec must have been observed (``status.observedGeneration``
at least ``metadata.generation``, when the object reports one), then its ``Ready`` condition (else
``Available``) must be True; a kind with neither condition has no rollout status. Restart sets the
``kubectl.kubernetes.io/restartedAt`` annotation of ``spec.template`` (any kind with a pod
template). History and undo are for Deployments: their ReplicaSets are the revisions.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, RolloutError, WaitTimeout
from .objects import ApiObject

if TYPE_CHECKING:
    from .client import Client

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
TEMPLATE_HASH = "pod-template-hash"


@dataclass(frozen=True, slots=True)
class RolloutStatus:
    """One look at a rollout: ``done`` once complete; ``message`` is kubectl's line."""

    done: bool
    message: str


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision of a Deployment: its number, change cause (None if not recorded) and ReplicaSet."""

    number: int
    change_cause: str | None
    replica_set: ApiObject


def _kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("metadata"), Mapping) or not obj.get("kind"):
        raise InvalidInput("a rollout needs an object read from the server (with kind and metadata)")
    api_version = str(obj.get("apiVersion", ""))
    return (api_version.rpartition("/")[0] if "/" in api_version else ""), str(obj["kind"])


def rollout_status(obj: Mapping[str, Any]) -> RolloutStatus:
    """Where the rollout of ``obj`` (as read from the server) stands; no request is made.

    Raises ``RolloutError`` for a Deployment past its progress deadline, and ``InvalidInput`` for
    a StatefulSet or DaemonSet without the RollingUpdate strategy or a kind that has no rollout
    (no Ready or Available condition, e.g. a Service).
    """
    group, kind = _kind(obj)
    check = _STATUS.get((group, kind), _generic_status)
    return check(obj)


def _deployment_status(d: Mapping[str, Any]) -> RolloutStatus:
    name, spec, status = d["metadata"].get("name"), d.get("spec") or {}, d.get("status") or {}
    if d["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return RolloutStatus(False, "Waiting for deployment spec update to be observed...")
    progressing = _condition(status, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        raise RolloutError(f'deployment "{name}" exceeded its progress deadline', obj=f"deployment/{name}")
    replicas = spec.get("replicas", 1)
    updated, total = status.get("updatedReplicas", 0), status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < replicas:
        return RolloutStatus(False, f"{waiting}{updated} out of {replicas} new replicas have been updated...")
    if total > updated:
        return RolloutStatus(False, f"{waiting}{total - updated} old replicas are pending termination...")
    if available < updated:
        return RolloutStatus(False, f"{waiting}{available} of {updated} updated replicas are available...")
    return RolloutStatus(True, f'deployment "{name}" successfully rolled out')


def _statefulset_status(s: Mapping[str, Any]) -> RolloutStatus:
    spec, status = s.get("spec") or {}, s.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        raise InvalidInput("rollout status is only available for RollingUpdate strategy type")
    observed = status.get("observedGeneration", 0)
    if not observed or s["metadata"].get("generation", 0) > observed:
        return RolloutStatus(False, "Waiting for statefulset spec update to be observed...")
    replicas, ready = spec.get("replicas", 1), status.get("readyReplicas", 0)
    if ready < replicas:
        return RolloutStatus(False, f"Waiting for {replicas - ready} pods to be ready...")
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    updated = status.get("updatedReplicas", 0)
    if isinstance(partition, int):  # as kubectl: any partition set, 0 (the server's default) included
        if updated < replicas - partition:
            return RolloutStatus(False, f"Waiting for partitioned roll out to finish: {updated} out of "
                                        f"{replicas - partition} new pods have been updated...")
        return RolloutStatus(True, f"partitioned roll out complete: {updated} new pods have been updated...")
    if status.get("updateRevision") != status.get("currentRevision"):
        return RolloutStatus(False, f"waiting for statefulset rolling update to complete {updated} pods at "
                                    f"revision {status.get('updateRevision')}...")
    return RolloutStatus(True, f"statefulset rolling update complete {status.get('currentReplicas', 0)} pods at "
                               f"revision {status.get('currentRevision')}...")


def _daemonset_status(d: Mapping[str, Any]) -> RolloutStatus:
    name, spec, status = d["metadata"].get("name"), d.get("spec") or {}, d.get("status") or {}
    if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        raise InvalidInput("rollout status is only available for RollingUpdate strategy type")
    if d["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return RolloutStatus(False, "Waiting for daemon set spec update to be observed...")
    desired, updated = status.get("desiredNumberScheduled", 0), status.get("updatedNumberScheduled", 0)
    available = status.get("numberAvailable", 0)
    waiting = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return RolloutStatus(False, f"{waiting}{updated} out of {desired} new pods have been updated...")
    if available < desired:
        return RolloutStatus(False, f"{waiting}{available} of {desired} updated pods are available...")
    return RolloutStatus(True, f'daemon set "{name}" successfully rolled out')


def _generic_status(obj: Mapping[str, Any]) -> RolloutStatus:
    """Any other kind: the spec observed, then Ready (else Available) True."""
    kind, name = str(obj["kind"]), obj["metadata"].get("name")
    status = obj.get("status") or {}
    condition = _condition(status, "Ready") or _condition(status, "Available")
    if condition is None:
        raise InvalidInput(f"{kind} {name!r} has no rollout status: it has no Ready or Available condition "
                           "(rollout works on Deployments, StatefulSets, DaemonSets and kinds with those conditions)")
    observed = status.get("observedGeneration")
    if isinstance(observed, int) and obj["metadata"].get("generation", 0) > observed:
        return RolloutStatus(False, f"Waiting for {kind.lower()} spec update to be observed...")
    if condition.get("status") == "True":
        return RolloutStatus(True, f'{kind.lower()} "{name}" successfully rolled out')
    detail = ": ".join(str(p) for p in (condition.get("reason"), condition.get("message")) if p)
    return RolloutStatus(False, f'Waiting for {kind.lower()} "{name}" rollout to finish: '
                                f'{condition.get("type")}={condition.get("status")}'
                                + (f" ({detail})" if detail else ""))


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if isinstance(c, Mapping) and c.get("type") == kind), None)


_STATUS: dict[tuple[str, str], Callable[[Mapping[str, Any]], RolloutStatus]] = {
    ("apps", "Deployment"): _deployment_status, ("apps", "StatefulSet"): _statefulset_status,
    ("apps", "DaemonSet"): _daemonset_status,
}


def wait_for_rollout(client: Client, obj: Mapping[str, Any], *, timeout: float = 300.0, interval: float = 0.2,
                     on_progress: Callable[[RolloutStatus], None] | None = None) -> RolloutStatus:
    """Read ``obj`` again until its rollout is complete (``kubectl rollout status``); returns the
    final status. ``on_progress`` is called with each new status (a changed message). Raises
    ``WaitTimeout`` when ``timeout`` seconds pass, ``RolloutError`` when the rollout failed."""
    rollout_status(obj)  # unsupported kinds fail before any request
    rc = client.resource_for(obj)
    meta = obj["metadata"]
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        current = rc.get(str(meta["name"]), meta.get("namespace") if rc.namespaced else None)
        status = rollout_status(current)
        if status.message != last and on_progress:
            on_progress(status)
        last = status.message
        if status.done:
            return status
        if time.monotonic() + interval > deadline:
            raise WaitTimeout(f"timed out waiting for the rollout of {obj['kind']} {meta['name']!r}: {last}")
        time.sleep(interval)
        interval = min(interval * 1.5, 2.0)


# ---- restart ---------------------------------------------------------------------------------------

def rollout_restart(client: Client, obj: Mapping[str, Any], *, now: dt.datetime | None = None) -> ApiObject:
    """Restart the pods of ``obj`` (any kind with ``spec.template``) by setting the
    ``kubectl.kubernetes.io/restartedAt`` annotation of its pod template, as kubectl does."""
    _kind(obj)
    if not isinstance((obj.get("spec") or {}).get("template"), Mapping):
        raise InvalidInput(f"{obj['kind']} {obj['metadata'].get('name')!r} cannot be restarted: it has no "
                           "spec.template (restart works on Deployments, StatefulSets, DaemonSets and kinds "
                           "with a pod template)")
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rc = client.resource_for(obj)
    meta = obj["metadata"]
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    return rc.patch(str(meta["name"]), patch, meta.get("namespace") if rc.namespaced else None, patch_type="merge")


# ---- history and undo (Deployments) ------------------------------------------------------------------

def _require_deployment(obj: Mapping[str, Any], what: str) -> None:
    if _kind(obj) != ("apps", "Deployment"):
        raise InvalidInput(f"rollout {what} works on Deployments, not {obj['kind']} "
                           f"{obj['metadata'].get('name')!r}")


def rollout_history(client: Client, obj: Mapping[str, Any]) -> list[Revision]:
    """The revisions of a Deployment, oldest first: the ReplicaSets it owns, by their revision."""
    _require_deployment(obj, "history")
    meta = obj["metadata"]
    revisions = []
    for rs in client.resource("replicasets.apps").list(meta.get("namespace")):
        rs_meta = rs["metadata"]
        if not any(r.get("uid") == meta.get("uid") for r in rs_meta.get("ownerReferences") or []):
            continue
        annotations = rs_meta.get("annotations") or {}
        number = annotations.get(REVISION)
        if isinstance(number, str) and number.isdigit():
            revisions.append(Revision(int(number), annotations.get(CHANGE_CAUSE), rs))
    return sorted(revisions, key=lambda r: r.number)


def rollout_undo(client: Client, obj: Mapping[str, Any], *, to_revision: int = 0) -> ApiObject | None:
    """Roll a Deployment back to ``to_revision`` (0: the previous one) by putting that ReplicaSet's
    pod template back. Returns the patched Deployment, or None when it already has that template.

    Raises ``RolloutError`` when there is no previous revision or the one asked for does not exist.
    """
    _require_deployment(obj, "undo")
    if not isinstance(to_revision, int) or isinstance(to_revision, bool) or to_revision < 0:
        raise InvalidInput(f"to_revision must be a non-negative integer, not {to_revision!r}")
    meta, name = obj["metadata"], obj["metadata"].get("name")
    history = rollout_history(client, obj)
    if to_revision:
        target = next((r for r in history if r.number == to_revision), None)
        if target is None:
            raise RolloutError(f"unable to find specified revision {to_revision} in history",
                               obj=f"deployment/{name}")
    elif len(history) < 2:
        raise RolloutError(f'no rollout history found for deployment "{name}"', obj=f"deployment/{name}")
    else:
        target = history[-2]
    template = _without_hash(target.replica_set["spec"]["template"])
    if template == _without_hash((obj.get("spec") or {}).get("template") or {}):
        return None
    patch = [{"op": "replace", "path": "/spec/template", "value": template}]
    return client.resource("deployments.apps").patch(str(name), patch, meta.get("namespace"), patch_type="json")


def _without_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    """A pod template without the ``pod-template-hash`` label its ReplicaSet added."""
    copy = ApiObject(template).to_dict()
    labels = (copy.get("metadata") or {}).get("labels") or {}
    labels.pop(TEMPLATE_HASH, None)
    return copy
