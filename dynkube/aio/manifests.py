"""Applying manifests from asyncio code: ``dynkube.apply_manifests`` on a worker thread.

The apply of a manifest set (documents parsed, CRDs first and waited for, namespaces, one result per
document) is the sync one's, run by the aio client's sync twin (``Client.blocking()``: the same
configuration and caches) off the event loop; the loop stays free while it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..manifests import ApplyResult
from ..manifests import apply_manifests as apply_blocking
from .client import Client


async def apply_manifests(client: Client, source: str | Path | Iterable[Mapping[str, Any]],
                          **options: Any) -> list[ApplyResult]:
    """``dynkube.apply_manifests(client, source, **options)``, awaited (the same options and results;
    ``on_result``/``on_progress`` callbacks run on the worker thread)."""
    return await asyncio.to_thread(apply_blocking, client.blocking(), source, **options)
