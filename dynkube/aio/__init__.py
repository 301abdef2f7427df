"""dynkube for asyncio: ``dynkube.aio.Client`` has the sync client's verbs, awaited.

Needs the ``async`` extra (``pip install 'dynkube[async]'``, which brings aiohttp); see docs/async.md.
``import dynkube.aio`` loads neither requests nor urllib3; ``Informer``, ``apply_manifests``, the
log names and ``copy_from_pod``/``copy_to_pod``, which share sync code, load on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import aiohttp as _aiohttp  # noqa: F401  (checked here, so the error names the extra)
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError("dynkube.aio needs aiohttp, the 'async' extra: pip install 'dynkube[async]'") from exc

from .client import Client, ResourceClient
from .discovery import AsyncDiscovery
from .streaming import ExecStream, PortConnection, PortForwarder
from .transport import AsyncStream, AsyncTransport
from .waiting import retry_on_conflict, wait_for
from .watch import Watch

if TYPE_CHECKING:
    from .copying import copy_from_pod, copy_to_pod
    from .informer import Informer
    from .manifests import apply_manifests
    from .podlogs import LogStream, follow_logs, log_sources, logs, read_logs

_LAZY = {"Informer": "informer", "apply_manifests": "manifests", "LogStream": "podlogs", "follow_logs": "podlogs",
         "log_sources": "podlogs", "logs": "podlogs", "read_logs": "podlogs", "copy_from_pod": "copying",
         "copy_to_pod": "copying"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dynkube.aio' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = ["AsyncDiscovery", "AsyncStream", "AsyncTransport", "Client", "ExecStream", "Informer", "LogStream",
           "PortConnection", "PortForwarder", "ResourceClient", "Watch", "apply_manifests", "copy_from_pod",
           "copy_to_pod", "follow_logs", "log_sources", "logs", "read_logs", "retry_on_conflict", "wait_for"]
