"""cp's path safety (dynkube.copying): every archive entry is checked before it is written, so
nothing lands outside the destination. Archives are real tar streams built here."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dynkube import errors
from dynkube.copying import _archive_prefix, _extract


def _archive(*entries: tarfile.TarInfo, data: bytes = b"x") -> tarfile.TarFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for entry in entries:
            entry.size = len(data) if entry.isfile() else 0
            archive.addfile(entry, io.BytesIO(data) if entry.isfile() else None)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer, mode="r|")


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info


def _unpack(archive: tarfile.TarFile, prefix: str, destination: Path) -> list[Path]:
    with archive:
        return [_extract(archive, member, prefix, destination) for member in archive]


def test_a_directory_becomes_the_destination(tmp_path: Path) -> None:
    archive = _archive(_entry("tmp/src", tarfile.DIRTYPE), _entry("tmp/src/a"), _entry("tmp/src/sub/b"),
                       _entry("tmp/src/ln", tarfile.SYMTYPE, "a"))
    written = _unpack(archive, _archive_prefix("/tmp/src"), tmp_path / "copy")
    assert (tmp_path / "copy" / "a").read_bytes() == b"x" and (tmp_path / "copy" / "sub" / "b").exists()
    assert (tmp_path / "copy" / "ln").readlink() == Path("a")
    assert written[0] == tmp_path / "copy"


def test_a_file_becomes_the_destination_file(tmp_path: Path) -> None:
    _unpack(_archive(_entry("etc/hosts")), _archive_prefix("/etc/hosts"), tmp_path / "hosts")
    assert (tmp_path / "hosts").read_bytes() == b"x"


# Absolute names point into this test's own directory ({outside}), so that even a broken check
# can never write anywhere else on the machine.
@pytest.mark.parametrize("name, kind, link", [
    ("tmp/src/../../escape", tarfile.REGTYPE, ""), ("{outside}/abs-file", tarfile.REGTYPE, ""),
    ("tmp/other/file", tarfile.REGTYPE, ""), ("tmp/src/ln", tarfile.SYMTYPE, "../../outside"),
    ("tmp/src/abs", tarfile.SYMTYPE, "{outside}/target"), ("tmp/src/hard", tarfile.LNKTYPE, "etc/passwd")])
def test_an_entry_that_would_leave_the_destination_is_refused(tmp_path: Path, name: str, kind: bytes,
                                                              link: str) -> None:
    outside = tmp_path / "outside"
    entry = _entry(name.format(outside=outside), kind, link.format(outside=outside))
    destination = tmp_path / "dest" / "copy"
    with pytest.raises(errors.CopyError) as caught:
        _unpack(_archive(_entry("tmp/src", tarfile.DIRTYPE), entry), "tmp/src", destination)
    assert caught.value.entry == entry.name
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
    assert written <= {Path("dest"), Path("dest/copy")}  # only the directory made before the bad entry


def test_a_source_above_the_working_directory_is_refused() -> None:
    with pytest.raises(errors.InvalidInput, match=r"'\.\.'"):
        _archive_prefix("../etc")
