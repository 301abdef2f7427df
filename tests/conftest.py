"""Shared fixtures. Integration and fault tests talk to a real kube-apiserver: the one the project's
envtest starts (`scripts/envtest up`), or the cluster of $DYNKUBE_TEST_KUBECONFIG. If neither can be
had, the tests that need it fail; they never skip."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from pathlib import Path

import pytest

import dynkube
import dynkube.aio

from .support.bridge import AsyncBridge, BridgedTools, EventLoopThread, SyncTools, tools_for

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM = ROOT / "fixtures" / "upstream"  # copied reference data, see its README


@pytest.fixture(scope="session")
def kubeconfig_path() -> Path:
    """The kubeconfig of the real test cluster (started by envtest unless DYNKUBE_TEST_KUBECONFIG is set)."""
    explicit = os.environ.get("DYNKUBE_TEST_KUBECONFIG")
    if explicit:
        return Path(explicit)
    result = subprocess.run([str(ROOT / "scripts" / "envtest"), "up"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"the local control plane did not start:\n{result.stderr}{result.stdout}", pytrace=False)
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubecache")


@pytest.fixture(scope="session")
def client(kubeconfig_path: Path, cache_root: Path) -> Iterator[dynkube.Client]:
    """An admin client of the test cluster (client-certificate context), with a private cache dir."""
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=cache_root) as c:
        yield c


@pytest.fixture(scope="session")
def aio_loop() -> Iterator[EventLoopThread]:
    """An event loop on a thread of its own, where the bridged asyncio clients run."""
    runner = EventLoopThread()
    yield runner
    runner.close()


@pytest.fixture(scope="session", params=["sync", "async"])
def each_client(request: pytest.FixtureRequest, client: dynkube.Client, kubeconfig_path: Path, cache_root: Path,
                aio_loop: EventLoopThread) -> Iterator[Any]:
    """Each client in turn, for tests that run against both: the sync ``client``, then a
    ``dynkube.aio.Client`` of the same cluster driven through ``tests.support.bridge.AsyncBridge``
    (same calls, same results and exceptions; every request the async client's own)."""
    if request.param == "sync":
        yield client
        return
    aio = dynkube.aio.Client(kubeconfig=kubeconfig_path, cache_dir=cache_root)
    yield AsyncBridge(aio, aio_loop)
    aio_loop.run(aio.close())


@pytest.fixture
def each_tools(each_client: Any) -> SyncTools | BridgedTools:
    """The library's tools matching ``each_client`` (``Informer``, ``wait_for``, ``retry_on_conflict``,
    ``apply_manifests``, ``copy_from_pod``, ``copy_to_pod``): the sync ones, then ``dynkube.aio``'s
    with the sync face (``tests.support.bridge.tools_for``)."""
    return tools_for(each_client)


@pytest.fixture(params=["sync", "async"])
def open_client(request: pytest.FixtureRequest, aio_loop: EventLoopThread) -> Iterator[Callable[..., Any]]:
    """Makes clients of each kind in turn: ``open_client(config, **kwargs)`` is a ``dynkube.Client``,
    then (second run of the test) a bridged ``dynkube.aio.Client`` of the same arguments; closed
    after the test."""
    closers: list[Callable[[], None]] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        if request.param == "sync":
            made = dynkube.Client(*args, **kwargs)
            closers.append(made.close)
            return made
        aio = dynkube.aio.Client(*args, **kwargs)
        closers.append(lambda: aio_loop.run(aio.close()))
        return AsyncBridge(aio, aio_loop)

    yield make
    for close in closers:
        close()


@pytest.fixture(scope="session")
def gizmo_crds(client: dynkube.Client) -> None:
    """The namespaced and cluster-scoped test CRDs of fixtures/crds/gizmos.yaml, installed once."""
    results = dynkube.apply_manifests(client, ROOT / "fixtures" / "crds" / "gizmos.yaml")
    assert all(r.ok for r in results), [str(r) for r in results]


@contextlib.contextmanager
def fresh_namespace(client: dynkube.Client) -> Iterator[str]:
    """Create a uniquely named namespace; delete it on exit."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    namespaces = client.resource("namespaces")
    namespaces.create({"metadata": {"name": name, "labels": {"dynkube-test": "true"}}})
    try:
        yield name
    finally:
        try:
            namespaces.delete(name)
        except dynkube.NotFound:
            pass


@pytest.fixture
def namespace(client: dynkube.Client) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    with fresh_namespace(client) as name:
        yield name


@pytest.fixture
def crd_factory(client: dynkube.Client) -> Iterator[Callable[..., str]]:
    """Creates uniquely named namespaced CRDs (Established when returned); returns the kind. Removed afterwards."""
    created: list[str] = []

    def make(*, scope: str = "Namespaced", short_names: tuple[str, ...] = ()) -> str:
        suffix = uuid.uuid4().hex[:8]
        kind, plural, group = f"Thing{suffix}", f"things{suffix}", f"t{suffix}.example.com"
        crds = client.resource("customresourcedefinitions")
        crds.create({"metadata": {"name": f"{plural}.{group}"}, "spec": {
            "group": group, "scope": scope,
            "names": {"plural": plural, "singular": f"thing{suffix}", "kind": kind, "shortNames": list(short_names)},
            "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                          "schema": {"openAPIV3Schema": {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": True}}}]}})
        created.append(f"{plural}.{group}")
        dynkube.wait_for(crds, f"{plural}.{group}", condition="Established", timeout=30)
        return kind

    yield make
    crds = client.resource("customresourcedefinitions")
    for name in created:
        try:
            crds.delete(name)
        except dynkube.NotFound:
            pass


JSON_DECODERS = ["stdlib", *(["orjson"] if importlib.util.find_spec("orjson") else [])]


@pytest.fixture(params=JSON_DECODERS)
def json_decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test runs once per JSON decoder installed: the standard library's, and orjson when the
    `fast` extra is installed (chosen through DYNKUBE_JSON, as a user would)."""
    from dynkube.core import jsondecode

    monkeypatch.setenv("DYNKUBE_JSON", request.param)
    jsondecode.choose()
    assert jsondecode.decoder() == ("json" if request.param == "stdlib" else "orjson")
    yield request.param
    monkeypatch.undo()
    jsondecode.choose()
