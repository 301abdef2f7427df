"""``dynkube cp``: files and directories to and from containers, over ``dynkube.copy_from_pod`` /
``copy_to_pod`` (tar over exec)."""

from __future__ import annotations

import os

import dynkube

from .context import Context, UsageError
from .options import AddCommand


def register(command: AddCommand) -> None:
    """Add ``cp``."""
    p = command("cp", cp_command, "Copy files and directories to and from containers (tar over exec).",
                "examples:\n  dynkube cp web-0:/etc/nginx ./nginx\n  dynkube cp other-ns/web-0:/tmp/a.log a.log\n"
                "  dynkube cp ./site web-0:/usr/share/html")
    p.add_argument("source", metavar="SOURCE", help="[NAMESPACE/]POD:PATH or a local path")
    p.add_argument("destination", metavar="DESTINATION", help="a local path or [NAMESPACE/]POD:PATH")
    p.add_argument("-c", "--container", metavar="NAME", help="the container (default: the pod's only or default one)")


def cp_command(ctx: Context) -> int:
    """``dynkube cp [NS/]POD:PATH LOCAL`` or ``dynkube cp LOCAL [NS/]POD:PATH``."""
    source, destination = ctx.args.source, ctx.args.destination
    remote_source, remote_destination = _remote(source), _remote(destination)
    if bool(remote_source) == bool(remote_destination):
        raise UsageError("one of SOURCE and DESTINATION must be a pod path (POD:PATH), the other a local path")
    if remote_source:
        namespace, pod, path = remote_source
        dynkube.copy_from_pod(ctx.client, pod, path, destination, namespace=namespace or ctx.namespace,
                              container=ctx.args.container)
    else:
        assert remote_destination is not None
        namespace, pod, path = remote_destination
        dynkube.copy_to_pod(ctx.client, source, pod, path, namespace=namespace or ctx.namespace,
                            container=ctx.args.container)
    return 0


def _remote(spec: str) -> tuple[str | None, str, str] | None:
    """(namespace, pod, path) of ``[NS/]POD:PATH``, or None for a local path (kubectl's reading: a
    colon before any slash, or a local path that does not exist but looks remote)."""
    head, colon, path = spec.partition(":")
    if not colon or not head or os.path.exists(spec):
        return None
    namespace, slash, pod = head.rpartition("/")
    if not path:
        raise UsageError(f"{spec!r}: the path in the pod is missing (POD:PATH)")
    return (namespace if slash else None), pod, path
