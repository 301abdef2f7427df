"""Where the objects of ``-f FILE|DIR|-`` come from: manifest files, directories and standard input,
read document by document (``apply``, ``delete`` and ``get`` take them alike)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dynkube


def read_manifests(source: str, recursive: bool) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """(where, object, problem) per document of a file, directory or ``-``: the objects ``delete -f``
    removes and ``get -f`` shows."""
    if source != "-" and not Path(source).exists():
        raise dynkube.ManifestError(f"the path {source!r} does not exist", source=source)
    try:
        documents = dynkube.load_documents(Path(source) if source != "-" else "-", recursive=recursive)
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
