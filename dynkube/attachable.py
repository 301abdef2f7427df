"""Which pod a workload means for attach, exec and port-forward (kubectl's AttachablePodForObject).

``pod/NAME`` (or a bare name) is that pod; ``svc/NAME``, ``deploy/NAME``, ``rs/NAME``, ``sts/NAME``,
``ds/NAME``, ``job/NAME`` mean one pod their selector matches, the most useful one as kubectl picks
it: Running and Ready first, then the newest. A Service's port becomes its target port in that pod.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, NotFound
from .objects import ApiObject

if TYPE_CHECKING:
    from .client import Client


def attachable_pod(client: Client, target: str, namespace: str | None = None) -> ApiObject:
    """The pod ``target`` (``NAME``, ``pod/NAME``, ``svc/NAME``, ``deploy/NAME``, ...) means."""
    kind, slash, name = target.partition("/")
    if not slash:
        kind, name = "pods", target
    if not name or "/" in name:
        raise InvalidInput(f"{target!r}: expected NAME or TYPE/NAME (pod/web-0, svc/web, deploy/web)")
    resource = client.resource(kind)
    namespace = namespace or client.namespace
    obj = resource.get(name, namespace)
    if resource.resource.kind == "Pod":
        return obj
    selector = _selector(obj, target)
    pods = list(client.resource("pods").list(namespace, label_selector=selector))
    if not pods:
        raise NotFound({"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404,
                        "message": f"no pod in namespace {namespace!r} matches the selector of {target}"})
    return max(pods, key=_preference)


def service_target_port(service: Mapping[str, Any], pod: Mapping[str, Any], port: int) -> int:
    """The pod port a Service port forwards to (``targetPort``, a number or a container port's name)."""
    name = service.get("metadata", {}).get("name")
    for entry in service.get("spec", {}).get("ports") or []:
        if entry.get("port") != port:
            continue
        target = entry.get("targetPort", port)
        if isinstance(target, int):
            return target or port
        for container in pod.get("spec", {}).get("containers") or []:
            for declared in container.get("ports") or []:
                if declared.get("name") == target:
                    return int(declared["containerPort"])
        raise InvalidInput(f"service {name!r}: port {port} targets the port named {target!r}, which no container "
                           f"of pod {pod.get('metadata', {}).get('name')!r} declares")
    raise InvalidInput(f"service {name!r} has no port {port}")


def _selector(obj: ApiObject, target: str) -> dict[str, str]:
    spec = obj.get("spec") or {}
    selector = spec.get("selector") if obj.get("kind") == "Service" else (spec.get("selector") or {}).get(
        "matchLabels")
    if not selector or not isinstance(selector, dict):
        raise InvalidInput(f"{target} has no label selector (matchLabels) to find its pods by")
    return {str(k): str(v) for k, v in selector.items()}


def _preference(pod: ApiObject) -> tuple[bool, bool, str]:
    status = pod.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return status.get("phase") == "Running", ready, str(pod.get("metadata", {}).get("creationTimestamp") or "")
