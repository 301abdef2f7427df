"""dynkube for asyncio: ``dynkube.aio.Client`` has the sync client's verbs, awaited.

Needs the ``async`` extra (``pip install 'dynkube[async]'``, which brings aiohttp); see docs/async.md.
"""

from __future__ import annotations

try:
    import aiohttp as _aiohttp  # noqa: F401  (checked here, so the error names the extra)
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError("dynkube.aio needs aiohttp, the 'async' extra: pip install 'dynkube[async]'") from exc

from .client import Client, ResourceClient
from .discovery import AsyncDiscovery
from .informer import Informer
from .manifests import apply_manifests
from .podlogs import LogStream, follow_logs, log_sources, logs, read_logs
from .streaming import ExecStream, PortConnection, PortForwarder
from .transport import AsyncStream, AsyncTransport
from .waiting import retry_on_conflict, wait_for
from .watch import Watch

__all__ = ["AsyncDiscovery", "AsyncStream", "AsyncTransport", "Client", "ExecStream", "Informer", "LogStream",
           "PortConnection", "PortForwarder", "ResourceClient", "Watch", "apply_manifests", "follow_logs",
           "log_sources", "logs", "read_logs", "retry_on_conflict", "wait_for"]
