"""Discovery and the resource map against the real server: request counts, caches, refresh on
miss, kubectl parity, failing aggregated APIs."""

from __future__ import annotations

from typing import Any

import json
import os
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import dynkube
from dynkube.discovery import Discovery, clear_memory_cache


def _client(kubeconfig_path: Path, cache_dir: Path | bool, **kwargs: object) -> dynkube.Client:
    return dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=cache_dir, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def fresh_cache(tmp_path: Path) -> Iterator[Path]:
    clear_memory_cache()
    yield tmp_path
    clear_memory_cache()


def test_cold_start_is_two_requests_and_warm_is_zero(kubeconfig_path: Path, fresh_cache: Path) -> None:
    cold = _client(kubeconfig_path, fresh_cache)
    assert cold.resource("deploy").kind == "Deployment"
    assert cold.discovery.stats["requests"] == 2

    in_memory = _client(kubeconfig_path, fresh_cache)
    assert in_memory.resource("cm").kind == "ConfigMap"
    assert in_memory.discovery.stats["requests"] == 0

    clear_memory_cache()
    from_disk = _client(kubeconfig_path, fresh_cache)
    assert from_disk.resource("svc").kind == "Service"
    assert from_disk.discovery.stats["requests"] == 0


def test_expired_disk_cache_revalidates_with_etag(kubeconfig_path: Path, fresh_cache: Path) -> None:
    _client(kubeconfig_path, fresh_cache).api_map()
    clear_memory_cache()
    stale = _client(kubeconfig_path, fresh_cache, discovery_ttl=0)
    assert stale.resource("deploy").plural == "deployments"
    assert stale.discovery.stats == {"requests": 2, "not_modified": 2}


def test_cache_files_are_private(kubeconfig_path: Path, fresh_cache: Path) -> None:
    client = _client(kubeconfig_path, fresh_cache)
    client.api_map()
    files = list((fresh_cache / "discovery").rglob("*"))
    assert files
    for path in files:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    server_dir = (fresh_cache / "discovery").iterdir().__next__()
    assert server_dir.name.startswith("127.0.0.1_")


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[1, 2]", b'{"kind": "aggregated"}', b"\x00\xff"])
def test_corrupt_cache_file_is_ignored_and_rewritten(kubeconfig_path: Path, fresh_cache: Path, garbage: bytes) -> None:
    _client(kubeconfig_path, fresh_cache).api_map()
    [cache_file] = (fresh_cache / "discovery").rglob("dynkube.json")
    cache_file.write_bytes(garbage)
    clear_memory_cache()
    client = _client(kubeconfig_path, fresh_cache)
    assert client.resource("pods").kind == "Pod"
    assert client.discovery.stats["requests"] == 2
    assert json.loads(cache_file.read_bytes())["kind"] == "aggregated"


def test_disk_cache_can_be_turned_off(kubeconfig_path: Path, fresh_cache: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECACHEDIR", str(fresh_cache / "default-root"))
    _client(kubeconfig_path, False).api_map()
    assert not (fresh_cache / "default-root").exists()


def test_legacy_discovery_gives_the_same_map(kubeconfig_path: Path, fresh_cache: Path) -> None:
    client = _client(kubeconfig_path, False)
    legacy = Discovery(client.transport, cache_dir=False, aggregated=False)
    aggregated = Discovery(client.transport, cache_dir=False)

    def summary(d: Discovery) -> set[tuple]:
        return {(r.group, r.version, r.plural, r.kind, r.namespaced, r.short_names, r.preferred,
                 frozenset(s.name for s in r.subresources)) for r in d.map}

    assert summary(legacy) == summary(aggregated)
    assert legacy.stats["requests"] > 10


def test_new_crd_resolves_without_restart(each_client: Any, crd_factory) -> None:
    each_client.api_map()  # warm the cache first
    kind = crd_factory()
    assert each_client.resource(kind).kind == kind  # refresh on miss, no invalidate() call


def test_deleted_crd_is_unresolvable_after_invalidate(each_client: Any, crd_factory) -> None:
    kind = crd_factory()
    resource = each_client.resource(kind)
    each_client.resource("crd").delete(f"{resource.plural}.{resource.group}")
    dynkube.wait_for(each_client.resource("crd"), f"{resource.plural}.{resource.group}", condition="delete", timeout=30)
    each_client.discovery.invalidate()
    deadline = time.monotonic() + 30
    while True:
        try:
            each_client.resource(kind)
        except dynkube.ResourceNotFound:
            break
        assert time.monotonic() < deadline, "deleted CRD still resolvable"
        time.sleep(0.5)
        each_client.discovery.invalidate()


def test_typos_do_not_storm_the_server(each_client: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    each_client.api_map()
    before = each_client.discovery.stats["requests"]
    started = time.monotonic()

    def typo(_: int) -> None:
        with pytest.raises(dynkube.ResourceNotFound):
            each_client.resource("deploymnets")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(typo, range(16)))
    for i in range(3):
        typo(i)
    refreshes = (each_client.discovery.stats["requests"] - before) / 2
    assert refreshes <= (time.monotonic() - started) / 1.0 + 1


def test_map_matches_kubectl_api_resources(each_client: Any, kubeconfig_path: Path) -> None:
    each_client.discovery.refresh()
    output = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig_path), "api-resources", "--cached=false"],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "KUBECACHEDIR": "/nonexistent"}).stdout
    kubectl = _parse_table(output)
    # Other tests create and delete CRDs in *.example.com groups concurrently: compare the rest.
    ours = {(r.plural, r.api_version, r.namespaced, r.kind): tuple(sorted(r.short_names))
            for r in each_client.api_resources() if not r.group.endswith(".example.com")}
    theirs = {(row["NAME"], row["APIVERSION"], row["NAMESPACED"] == "true", row["KIND"]):
              tuple(sorted(filter(None, row["SHORTNAMES"].split(",")))) for row in kubectl
              if not row["APIVERSION"].split("/")[0].endswith(".example.com")}
    assert len(ours) > 50
    assert ours == theirs


def test_unavailable_aggregated_api_is_reported_not_fatal(each_client: Any) -> None:
    group = f"broken{uuid.uuid4().hex[:6]}.example.com"
    apiservices = each_client.resource("apiservices")
    apiservices.create({"metadata": {"name": f"v1.{group}"}, "spec": {
        "group": group, "version": "v1", "groupPriorityMinimum": 100, "versionPriority": 100,
        "insecureSkipTLSVerify": True, "service": {"namespace": "default", "name": "does-not-exist"}}})
    try:
        deadline = time.monotonic() + 60
        while f"{group}/v1" not in each_client.discovery.refresh().failed:
            assert time.monotonic() < deadline, "the broken APIService never showed up as failed"
            time.sleep(1)
        assert each_client.resource("deployments").kind == "Deployment"
        legacy = Discovery(each_client.transport, cache_dir=False, aggregated=False)
        assert f"{group}/v1" in legacy.map.failed
        assert legacy.map.resolve("deployments").kind == "Deployment"
    finally:
        apiservices.delete(f"v1.{group}")


def _parse_table(output: str) -> list[dict[str, str]]:
    """kubectl's aligned table: columns start where the header words start."""
    lines = output.splitlines()
    header = lines[0]
    starts = [i for i, c in enumerate(header) if c != " " and (i == 0 or header[i - 1] == " ")]
    names = header.split()
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
        rows.append(dict(zip(names, cells)))
    return rows

