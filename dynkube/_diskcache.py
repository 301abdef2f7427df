"""Private, crash-safe files under the user's cache directory, shared by discovery and schema.

Layout follows kubectl: ``<root>/<kind>/<host>/...`` where ``<root>`` is ``$KUBECACHEDIR`` or
``~/.kube/cache`` and ``<host>`` is the server URL without its scheme, every character outside
``[A-Za-z0-9_/.()]`` replaced by ``_``. Directories are 0700, files 0600, writes atomic
(temp file + rename). A file that cannot be read or parsed is treated as absent, never fatal.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w/.()]", re.ASCII)


def default_cache_root() -> Path:
    """$KUBECACHEDIR, else ~/.kube/cache (as kubectl)."""
    env = os.environ.get("KUBECACHEDIR")
    return Path(env) if env else Path.home() / ".kube" / "cache"


def server_dir_name(server: str) -> str:
    """kubectl's sanitised directory name for a server URL (``https://127.0.0.1:6443`` → ``127.0.0.1_6443``)."""
    host = re.sub(r"^https?://", "", server)
    safe = _UNSAFE.sub("_", host).strip("/")
    parts = [p for p in safe.split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "_"


class DiskCache:
    """JSON documents stored by relative key under one directory, with mtime-based TTL."""

    def __init__(self, directory: Path, ttl_seconds: float | None) -> None:
        self.directory = directory
        self.ttl_seconds = ttl_seconds

    def _path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p not in ("", ".", "..")]
        return self.directory.joinpath(*parts)

    def read(self, key: str) -> Any | None:
        """The stored document, or None when missing, expired, unreadable or not JSON."""
        path = self._path(key)
        try:
            if self.ttl_seconds is not None and time.time() - path.stat().st_mtime > self.ttl_seconds:
                return None
            with path.open("rb") as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable cache file %s: %s", path, exc)
            return None

    def write(self, key: str, document: Any) -> None:
        """Store atomically with private permissions; failures are logged, not raised."""
        path = self._path(key)
        try:
            self._mkdirs(path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(json.dumps(document, separators=(",", ":")))  # dumps uses the C encoder
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as exc:
            log.warning("could not write cache file %s: %s", path, exc)

    def remove_all(self) -> None:
        """Forget every file under this cache's directory."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.rglob("*"), reverse=True):
            try:
                path.rmdir() if path.is_dir() else path.unlink()
            except OSError as exc:
                log.warning("could not remove cache entry %s: %s", path, exc)

    def _mkdirs(self, directory: Path) -> None:
        missing = []
        current = directory
        while not current.exists():
            missing.append(current)
            current = current.parent
        for d in reversed(missing):
            d.mkdir(mode=0o700, exist_ok=True)
