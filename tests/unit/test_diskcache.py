"""The disk cache stays inside its directory: symlinks below the root are never followed, directories
writable by others or owned by someone else are not used, removal never reaches outside."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

import dynkube
from dynkube._diskcache import DiskCache
from dynkube.config import Config
from dynkube.schema import openapi_disk_cache

pytestmark = pytest.mark.usefixtures("json_decoder")  # every reader under both decoders

SERVER = "https://127.0.0.1:6443"
HOST = "127.0.0.1_6443"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A directory outside the cache holding files nobody wants the cache to touch."""
    directory = tmp_path / "victim"
    (directory / "sub").mkdir(parents=True)
    (directory / "precious.txt").write_text("keep me")
    (directory / "sub" / "dynkube.json").write_text('{"planted": true}')
    return directory


def _contents(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}


def _discovery_cache(root: Path) -> DiskCache:
    return DiskCache(root / "discovery" / HOST, None, root=root)


def test_invalidate_under_a_symlinked_server_directory_deletes_nothing_outside(tmp_path: Path, victim: Path) -> None:
    root = tmp_path / "cache"
    (root / "discovery").mkdir(parents=True)
    (root / "discovery" / HOST).symlink_to(victim)
    before = _contents(victim)
    client = dynkube.Client(Config(server=SERVER), cache_dir=root)  # makes no request
    client.discovery.invalidate()
    assert _contents(victim) == before
    assert (root / "discovery" / HOST).is_symlink()


@pytest.mark.parametrize("link", ["discovery", f"discovery/{HOST}"])
def test_writes_and_reads_do_not_go_through_a_symlinked_directory(tmp_path: Path, victim: Path, link: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "cache"
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).symlink_to(victim)
    before = _contents(victim)
    cache = _discovery_cache(root)
    with caplog.at_level(logging.WARNING):
        cache.write("dynkube.json", {"new": True})
        assert cache.read("sub/dynkube.json") is None
        assert cache.read("dynkube.json") is None
    assert _contents(victim) == before
    assert "symlink" in caplog.text


def test_a_symlinked_openapi_directory_is_not_written_through(tmp_path: Path, victim: Path) -> None:
    root = tmp_path / "cache"
    root.mkdir()
    (root / "openapi").symlink_to(victim)
    before = _contents(victim)
    cache = openapi_disk_cache(SERVER, root)
    cache.write("apis/apps/v1/abc.json", {"components": {"schemas": {}}})
    assert cache.read("apis/apps/v1/abc.json") is None
    assert _contents(victim) == before


def test_a_symlinked_openapi_directory_is_not_pruned(tmp_path: Path, victim: Path) -> None:
    root = tmp_path / "cache"
    (root / "openapi").mkdir(parents=True)
    (victim / HOST / "apis" / "apps" / "v1").mkdir(parents=True)
    (victim / HOST / "apis" / "apps" / "v1" / "old.json").write_text("{}")
    (root / "openapi" / HOST).symlink_to(victim / HOST)
    before = _contents(victim)
    openapi_disk_cache(SERVER, root).prune("apis/apps/v1/abc.json")
    assert _contents(victim) == before


def test_an_openapi_cache_root_writable_by_others_is_not_used(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    root.mkdir()
    os.chmod(root, 0o777)
    cache = openapi_disk_cache(SERVER, root)
    cache.write("apis/apps/v1/abc.json", {"components": {"schemas": {}}})
    assert cache.read("apis/apps/v1/abc.json") is None
    assert list(root.iterdir()) == []


def test_pruning_never_follows_a_symlinked_group_version_directory(tmp_path: Path, victim: Path) -> None:
    cache = DiskCache(tmp_path / "openapi", None)
    (tmp_path / "openapi" / "apis" / "apps").mkdir(parents=True)
    (tmp_path / "openapi" / "apis" / "apps" / "v1").symlink_to(victim)
    (victim / "older.json").write_text("{}")
    before = _contents(victim)
    cache.prune("apis/apps/v1/new.json")
    assert _contents(victim) == before


def test_remove_all_unlinks_symlinks_inside_without_following_them(tmp_path: Path, victim: Path) -> None:
    cache = _discovery_cache(tmp_path / "cache")
    cache.write("dynkube.json", {"a": 1})
    (cache.directory / "link-to-dir").symlink_to(victim)
    (cache.directory / "link-to-file").symlink_to(victim / "precious.txt")
    before = _contents(victim)
    cache.remove_all()
    assert _contents(victim) == before
    assert list(cache.directory.iterdir()) == []


def test_a_symlinked_cache_file_is_not_read_and_a_write_replaces_the_link(tmp_path: Path, victim: Path) -> None:
    cache = _discovery_cache(tmp_path / "cache")
    cache.write("dynkube.json", {"a": 1})
    target = cache.directory / "dynkube.json"
    target.unlink()
    target.symlink_to(victim / "sub" / "dynkube.json")
    assert cache.read("dynkube.json") is None
    cache.write("dynkube.json", {"b": 2})
    assert not target.is_symlink() and json.loads(target.read_text()) == {"b": 2}
    assert json.loads((victim / "sub" / "dynkube.json").read_text()) == {"planted": True}


def test_the_cache_root_itself_may_be_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "root").symlink_to(tmp_path / "real")
    cache = _discovery_cache(tmp_path / "root")
    cache.write("dynkube.json", {"a": 1})
    assert cache.read("dynkube.json") == {"a": 1}
    assert (tmp_path / "real" / "discovery" / HOST / "dynkube.json").is_file()


@pytest.mark.parametrize("where", ["", "discovery", f"discovery/{HOST}"])
def test_a_directory_writable_by_others_is_skipped_with_one_warning(tmp_path: Path, where: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "cache"
    cache = _discovery_cache(root)
    cache.write("dynkube.json", {"a": 1})
    os.chmod(root / where, 0o777)
    with caplog.at_level(logging.WARNING):
        assert cache.read("dynkube.json") is None
        cache.write("dynkube.json", {"b": 2})
        cache.remove_all()
    assert json.loads((cache.directory / "dynkube.json").read_text()) == {"a": 1}  # neither replaced nor removed
    warnings = [r for r in caplog.records if "not using the disk cache" in r.getMessage()]
    assert len(warnings) == 1 and "writable by group or others (mode 0777)" in warnings[0].getMessage()


def test_a_directory_owned_by_another_user_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "cache"
    cache = _discovery_cache(root)
    cache.write("dynkube.json", {"a": 1})
    owner = 54321
    if os.geteuid() == 0:
        os.chown(root / "discovery", owner, -1)
    else:  # only root can give a directory away: the reader becomes another user instead
        owner = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    with caplog.at_level(logging.WARNING):
        assert cache.read("dynkube.json") is None
    assert f"belongs to another user (uid {owner})" in caplog.text


def test_a_cache_file_writable_by_others_is_not_trusted(tmp_path: Path) -> None:
    cache = _discovery_cache(tmp_path / "cache")
    cache.write("dynkube.json", {"a": 1})
    os.chmod(cache.directory / "dynkube.json", 0o666)
    assert cache.read("dynkube.json") is None


def test_new_directories_and_files_are_private(tmp_path: Path) -> None:
    cache = _discovery_cache(tmp_path / "cache")
    cache.write("dynkube.json", {"a": 1})
    for path in [tmp_path / "cache", tmp_path / "cache" / "discovery", cache.directory]:
        assert path.stat().st_mode & 0o077 == 0, path
    assert (cache.directory / "dynkube.json").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in cache.directory.iterdir()] == ["dynkube.json"]  # no temporary file left
