"""The pod a streaming command (exec, attach, port-forward) means: a pod or a workload's, Running, and
its container."""

from __future__ import annotations

import argparse

import dynkube

from .context import Context

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def pod_and_container(ctx: Context, target: str) -> tuple[str, str | None]:
    """The pod a target means, and the container: ``-c``, else the pod's default-container annotation."""
    pod = running_pod(dynkube.attachable_pod(ctx.client, target, ctx.namespace), "exec into or attach to")
    container = ctx.args.container or (pod.metadata.get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    return pod.metadata.name, container


def running_pod(pod: dynkube.ApiObject, what: str) -> dynkube.ApiObject:
    """The pod, if it is Running (kubectl refuses the others before any stream)."""
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Running":
        raise dynkube.InvalidInput(f"cannot {what} pod {pod.metadata.name!r}: it is not running (phase {phase})")
    return pod


def add_stream_options(p: argparse.ArgumentParser) -> None:
    """-c, -i and -t of exec and attach."""
    p.add_argument("-c", "--container", metavar="NAME", help="the container (default: the pod's only or default one)")
    p.add_argument("-i", "--stdin", action="store_true", help="pass our stdin to the container")
    p.add_argument("-t", "--tty", action="store_true", help="stdin is a terminal (raw mode; stderr joins stdout)")
