"""Where the objects of ``-f FILE|DIR|URL|-`` come from: manifest files, directories, http(s) URLs and
standard input, read document by document (``apply``, ``delete`` and ``get`` take them alike)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dynkube


def manifest_source(source: str) -> str | Path:
    """What a ``-f`` argument names for the library: ``-``, an http(s) URL, or a path that exists."""
    if source == "-" or dynkube.is_manifest_url(source):
        return source
    if not Path(source).exists():
        raise dynkube.ManifestError(f"the path {source!r} does not exist", source=source)
    return Path(source)


def read_manifests(source: str, recursive: bool) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """(where, object, problem) per document of a file, directory, URL or ``-``: the objects ``delete -f``
    removes and ``get -f`` shows."""
    try:
        documents = dynkube.load_documents(manifest_source(source), recursive=recursive)
    except UnicodeDecodeError as exc:
        raise not_utf8(source, exc) from None
    for doc in documents:
        if doc.error:
            yield doc.where, None, str(doc.error).removeprefix(f"{doc.where}: ")
        else:
            yield doc.where, doc.body, None


def not_utf8(source: str, exc: UnicodeDecodeError) -> dynkube.ManifestError:
    """The error for manifests that are not UTF-8 text (YAML and JSON manifests must be)."""
    where = "standard input" if source == "-" else repr(source)
    return dynkube.ManifestError(f"the manifest {where} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} "
                                 f"at offset {exc.start} ({exc.reason})", source=source)
