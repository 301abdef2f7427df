"""cp: files and directories between this machine and a container, as tar over exec (kubectl cp).

From a pod: ``tar cf - PATH`` runs in the container and its stdout is unpacked here as it arrives,
each entry checked before it is written: an absolute name, a ``..`` component, or a link whose
target leaves the destination raises CopyError, so nothing is written outside the destination.
To a pod: a tar stream of the local file or tree is fed to ``tar xmf - -C DIR`` in the container;
that needs stdin to end (``v5.channel.k8s.io``).
"""

from __future__ import annotations

import io
import logging
import os
import posixpath
import tarfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .core.channels import Channel, Protocol
from .errors import ApiError, CopyError, InvalidInput, StreamError

if TYPE_CHECKING:
    from .client import Client
    from .streaming import ExecStream

log = logging.getLogger(__name__)


def copy_from_pod(client: Client, pod: str, source: str, destination: str | os.PathLike[str], *,
                  namespace: str | None = None, container: str | None = None) -> list[Path]:
    """Copy ``source`` (a file or directory in the container) to ``destination`` here, as
    ``kubectl cp POD:SOURCE DESTINATION``: the destination becomes the copy. Returns the paths written."""
    prefix = _archive_prefix(source)
    stream = client.exec_stream(pod, ["tar", "cf", "-", source], namespace, container=container, stdin=False)
    written: list[Path] = []
    with stream:
        reader = io.BufferedReader(_StdoutReader(stream), buffer_size=64 * 1024)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as archive:
                for member in archive:
                    written.append(_extract(archive, member, prefix, Path(destination)))
        except tarfile.ReadError as exc:
            _raise_tar_failure(stream, pod, source, f"the archive could not be read ({exc})")
        _check_exit(stream, pod, source)
    if not written:
        raise CopyError(f"cp {pod}:{source}: the container sent an empty archive")
    return written


def copy_to_pod(client: Client, source: str | os.PathLike[str], pod: str, destination: str, *,
                namespace: str | None = None, container: str | None = None) -> None:
    """Copy ``source`` (a file or directory here) to ``destination`` in the container, as
    ``kubectl cp SOURCE POD:DESTINATION``: the destination path becomes the copy. Needs a server
    that can end the command's stdin (``v5.channel.k8s.io``; StreamError otherwise)."""
    local = Path(source)
    if not local.exists():
        raise InvalidInput(f"cp {source}: no such file or directory")
    if not isinstance(destination, str) or not destination.strip("/"):
        raise InvalidInput(f"cp to {pod}: the destination must be a path in the container, not {destination!r}")
    parent, name = posixpath.split(destination.rstrip("/"))
    stream = client.exec_stream(pod, ["tar", "xmf", "-", "-C", parent or "."], namespace, container=container,
                                stdin=True)
    with stream:
        if stream.protocol is not Protocol.V5:
            stream.close_stdin()  # raises: over v4 tar would wait for the end of its input forever
        failures: list[BaseException] = []
        writer = threading.Thread(target=_send_archive, args=(stream, local, name, failures),
                                  name="dynkube-cp-upload", daemon=True)
        writer.start()
        stderr = b"".join(data for channel, data in stream.chunks() if channel == Channel.STDERR)
        writer.join()
        _check_exit(stream, pod, destination, stderr)
        if failures:
            raise failures[0]


def _send_archive(stream: ExecStream, local: Path, name: str, failures: list[BaseException]) -> None:
    """Write a tar of ``local`` named ``name`` to the command's stdin, then end it (a writer thread)."""
    try:
        with tarfile.open(fileobj=_StdinWriter(stream), mode="w|") as archive:
            archive.add(str(local), arcname=name)
        stream.close_stdin()
    except BaseException as exc:  # handed to the reading thread
        failures.append(exc)


class _StdinWriter(io.RawIOBase):
    """A file the tar writer writes into: each write goes to the command's stdin."""

    def __init__(self, stream: ExecStream) -> None:
        self._stream = stream

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._stream.write(bytes(data))
        return len(data)


class _StdoutReader(io.RawIOBase):
    """A file the tar reader reads from: the command's stdout as it arrives."""

    def __init__(self, stream: ExecStream) -> None:
        self._stream = stream
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = self._stream.read(Channel.STDOUT)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _archive_prefix(source: str) -> str:
    """The name tar gives ``source`` in its archive (no leading slash, normalised)."""
    if not isinstance(source, str) or not source.strip("/"):
        raise InvalidInput(f"cp: the source must be a path in the container, not {source!r}")
    prefix = posixpath.normpath(source.lstrip("/"))
    if prefix == ".." or prefix.startswith("../"):
        raise InvalidInput(f"cp: the source {source!r} leaves the container's working directory by '..'")
    return prefix


def _inside(name: str) -> bool:
    """True if a relative archive path stays inside its root."""
    return not posixpath.isabs(name) and not any(part == ".." for part in name.split("/"))


def _relative(name: str, prefix: str) -> str | None:
    """The path of an archive entry below the copied source, or None if it is not below it."""
    name = name.rstrip("/")
    if posixpath.isabs(name) or any(part == ".." for part in name.split("/")):
        return None
    name = posixpath.normpath(name)
    if prefix == ".":
        return "" if name == "." else name
    if name == prefix:
        return ""
    return name[len(prefix) + 1:] if name.startswith(prefix + "/") else None


def _extract(archive: tarfile.TarFile, member: tarfile.TarInfo, prefix: str, destination: Path) -> Path:
    """Write one entry under ``destination``, after checking it stays there."""
    rest = _relative(member.name, prefix)
    if rest is None:
        raise CopyError(f"cp: the archive holds {member.name!r}, outside the copied {prefix!r}: nothing of it is "
                        f"written", entry=member.name)
    if member.issym() and not _inside(posixpath.normpath(posixpath.join(posixpath.dirname(rest), member.linkname))):
        raise CopyError(f"cp: the archive's link {member.name!r} -> {member.linkname!r} points outside the "
                        f"destination", entry=member.name)
    if member.islnk():
        target = _relative(member.linkname, prefix)
        if target is None:
            raise CopyError(f"cp: the archive's hard link {member.name!r} -> {member.linkname!r} points outside "
                            f"the destination", entry=member.name)
        member = member.replace(linkname=posixpath.join(destination.name, target) if target else destination.name)
    name = posixpath.join(destination.name, rest) if rest else destination.name
    try:
        archive.extract(member.replace(name=name), destination.parent, filter="data")
    except (tarfile.FilterError, OSError) as exc:
        raise CopyError(f"cp: cannot write {member.name!r} to {destination}: {exc}", entry=member.name) from None
    return destination.parent / name


def _check_exit(stream: ExecStream, pod: str, path: str, stderr: bytes = b"") -> None:
    """Raise CopyError when tar failed in the container (no tar, no such path), quoting its stderr
    (``stderr``: what was already read of it)."""
    try:
        code = stream.wait()
    except ApiError as exc:
        _raise_tar_failure(stream, pod, path, exc.message or str(exc), stderr)
    except StreamError as exc:  # tar gave up early and the server closed while the archive was still sent
        if not stderr:
            raise
        _raise_tar_failure(stream, pod, path, str(exc), stderr)
    if code != 0:
        _raise_tar_failure(stream, pod, path, f"tar exited with code {code}", stderr)
    if not stream.status_received:  # a copy is not taken as done on a silent end
        _raise_tar_failure(stream, pod, path, "the stream ended without tar's exit status", stderr)


def _raise_tar_failure(stream: ExecStream, pod: str, path: str, problem: str, already: bytes = b"") -> NoReturn:
    text = (already + b"".join(iter(lambda: stream.read(Channel.STDERR), b""))).decode("utf-8", errors="replace")
    stderr = "; ".join(line for line in text.splitlines() if line and "Removing leading" not in line)
    if "executable file not found" in problem or "tar: not found" in stderr or "tar: command not found" in stderr:
        raise CopyError(f"cp {pod}:{path}: the container has no 'tar', which cp needs (as kubectl cp)")
    raise CopyError(f"cp {pod}:{path}: {stderr or problem}")
