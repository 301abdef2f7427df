"""``cp`` from asyncio code: ``dynkube.copy_from_pod`` / ``copy_to_pod`` on a worker thread.

The copy (tar over exec, kubectl's path-safety rules, the errors) is the sync one's: blocking
``tarfile`` code over a sync exec stream, run by the aio client's sync twin (``Client.blocking()``:
the same configuration and credentials) off the event loop, which stays free while it runs.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ..copying import copy_from_pod as copy_from_pod_blocking
from ..copying import copy_to_pod as copy_to_pod_blocking
from .client import Client


async def copy_from_pod(client: Client, pod: str, source: str, destination: str | os.PathLike[str], *,
                        namespace: str | None = None, container: str | None = None) -> list[Path]:
    """``dynkube.copy_from_pod(client, pod, source, destination, ...)``, awaited: the paths written."""
    return await asyncio.to_thread(copy_from_pod_blocking, client.blocking(), pod, source, destination,
                                   namespace=namespace, container=container)


async def copy_to_pod(client: Client, source: str | os.PathLike[str], pod: str, destination: str, *,
                      namespace: str | None = None, container: str | None = None) -> None:
    """``dynkube.copy_to_pod(client, source, pod, destination, ...)``, awaited."""
    await asyncio.to_thread(copy_to_pod_blocking, client.blocking(), source, pod, destination,
                            namespace=namespace, container=container)
