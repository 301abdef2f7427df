"""Private, crash-safe files under the user's cache directory, shared by discovery and schema.

Layout follows kubectl: ``<root>/<kind>/<host>/...`` where ``<root>`` is ``$KUBECACHEDIR`` or
``~/.kube/cache`` and ``<host>`` is the server URL without its scheme, every character outside
``[A-Za-z0-9_/.()]`` replaced by ``_``. Directories are 0700, files 0600, writes atomic
(temp file + rename). A file that cannot be read or parsed is treated as absent, never fatal.

Nothing below ``<root>`` is reached through a symlink: every directory is opened relative to its
parent with ``O_NOFOLLOW``, so reads, writes and removals stay inside the cache. A directory (or
file) that is writable by group or others, or owned by another user, is not used: the cache is
skipped with one warning. Platforms without ``O_NOFOLLOW`` and ``dir_fd`` support have no disk cache.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w/.()]", re.ASCII)
_SUPPORTED = hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_warned: set[str] = set()  # directories already reported as unsafe in this process


class _Refused(Exception):
    """A cache directory or file that must not be used (a symlink, or writable by someone else)."""


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


def _problem(st: os.stat_result) -> str | None:
    """Why a directory or file with this status must not be trusted, or None."""
    if st.st_uid not in (os.geteuid(), 0):
        return f"it belongs to another user (uid {st.st_uid})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"it is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _split(key: str) -> list[str]:
    return [p for p in key.split("/") if p not in ("", ".", "..")]


class DiskCache:
    """JSON documents stored by relative key under one directory, with mtime-based TTL.

    ``root`` (default: ``directory`` itself) is the user's cache root, which may be a symlink;
    the directories from it down to ``directory`` and below are never followed through one.
    ``decode`` turns a file's bytes into its document (``json.loads``; the users above pass
    ``dynkube.core.jsondecode.loads``).
    """

    def __init__(self, directory: Path, ttl_seconds: float | None, *, root: Path | None = None,
                 decode: Callable[[bytes], Any] = json.loads) -> None:
        self.directory = directory
        self._decode = decode
        self.ttl_seconds = ttl_seconds
        self._root = root if root is not None else directory
        self._parts = list(directory.relative_to(self._root).parts)

    def read(self, key: str) -> Any | None:
        """The stored document, or None when missing, expired, unreadable, not JSON or not safe to trust."""
        *dirs, name = _split(key) or [""]
        try:
            with self._directory(dirs, create=False) as fd:
                file_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
                with open(file_fd, "rb") as f:
                    st = os.fstat(f.fileno())
                    problem = "it is not a regular file" if not stat.S_ISREG(st.st_mode) else _problem(st)
                    if problem:
                        raise _Refused(f"{self.directory.joinpath(*dirs, name)}: {problem}")
                    if self.ttl_seconds is not None and time.time() - st.st_mtime > self.ttl_seconds:
                        return None
                    return self._decode(f.read())
        except FileNotFoundError:
            return None
        except _Refused as exc:
            self._warn(str(exc))
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable cache file %s: %s", self.directory.joinpath(*dirs, name), exc)
            return None

    def write(self, key: str, document: Any) -> None:
        """Store ``document`` as JSON, atomically with private permissions; failures are logged, not raised."""
        self.write_bytes(key, json.dumps(document, separators=(",", ":")).encode())  # dumps uses the C encoder

    def write_bytes(self, key: str, content: bytes) -> None:
        """Store a document already encoded (JSON that ``decode`` reads), as ``write`` does."""
        *dirs, name = _split(key) or [""]
        try:
            with self._directory(dirs, create=True) as fd:
                tmp = f".tmp-{os.urandom(8).hex()}"
                file_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
                try:
                    with open(file_fd, "wb") as f:
                        f.write(content)
                    os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
                except BaseException:
                    os.unlink(tmp, dir_fd=fd)
                    raise
        except _Refused as exc:
            self._warn(str(exc))
        except OSError as exc:
            log.warning("could not write cache file %s: %s", self.directory.joinpath(*dirs, name), exc)

    def remove_all(self) -> None:
        """Forget every file under this cache's directory (symlinks are removed, never followed)."""
        try:
            with self._directory([], create=False) as fd:
                _clear(fd, self.directory)
        except FileNotFoundError:
            return
        except _Refused as exc:
            self._warn(str(exc))
        except OSError as exc:
            log.warning("could not clear cache directory %s: %s", self.directory, exc)

    def prune(self, key: str) -> None:
        """Remove the other ``*.json`` files beside ``key`` (older versions of the same document)."""
        *dirs, keep = _split(key) or [""]
        try:
            with self._directory(dirs, create=False) as fd:
                for entry in os.scandir(fd):
                    if entry.name.endswith(".json") and entry.name != keep and not entry.is_dir(follow_symlinks=False):
                        os.unlink(entry.name, dir_fd=fd)
        except FileNotFoundError:
            return
        except _Refused as exc:
            self._warn(str(exc))
        except OSError as exc:
            log.debug("could not prune %s: %s", self.directory.joinpath(*dirs), exc)

    @contextmanager
    def _directory(self, dirs: list[str], *, create: bool) -> Iterator[int]:
        """A file descriptor of ``directory/dirs``, reached without following symlinks below the root.

        Raises FileNotFoundError when it does not exist (and ``create`` is false), _Refused when a
        directory on the way is a symlink, not a directory, or not safe to trust.
        """
        if not _SUPPORTED:
            raise _Refused(f"{self.directory}: this platform cannot open files without following symlinks")
        if create:
            _make_root(self._root)
        fd = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            where = self._root
            self._check(fd, where)
            for part in self._parts + dirs:
                where = where / part
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(part, 0o700, dir_fd=fd)
                    except FileExistsError:
                        pass  # another process made it first
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise _Refused(f"{where}: it is a symlink or not a directory") from None
                    raise
                os.close(fd)
                fd = child
                self._check(fd, where)
            yield fd
        finally:
            os.close(fd)

    @staticmethod
    def _check(fd: int, where: Path) -> None:
        problem = _problem(os.fstat(fd))
        if problem:
            raise _Refused(f"{where}: {problem}")

    def _warn(self, why: str) -> None:
        """One warning per cache directory and process."""
        if str(self.directory) not in _warned:
            _warned.add(str(self.directory))
            log.warning("not using the disk cache %s: %s", self.directory, why)


def _make_root(root: Path) -> None:
    """Create the cache root and its missing parents (0700). The root itself may be a symlink."""
    missing = []
    current = root
    while not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            pass


def _clear(fd: int, where: Path) -> None:
    """Remove everything inside the directory open as ``fd``; a symlink is unlinked, never followed."""
    for entry in os.scandir(fd):
        if entry.is_dir(follow_symlinks=False):
            child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
            try:
                _clear(child, where / entry.name)
            finally:
                os.close(child)
            os.rmdir(entry.name, dir_fd=fd)
        else:
            try:
                os.unlink(entry.name, dir_fd=fd)
            except OSError as exc:
                log.warning("could not remove cache entry %s: %s", where / entry.name, exc)
