"""Discovery that cannot go stale, against the real server: listings ask the server, a listing does
not hide a 401, a kind deleted since it was cached is named, built-in names survive CRDs that reuse
them, and a corrupt disk cache entry is treated as absent."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import dynkube
from dynkube.cli import main
from dynkube.discovery import clear_memory_cache

WAIT = 60  # seconds any one condition may take on a loaded machine


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    """A private disk cache root, with the process memory cache forgotten before and after."""
    clear_memory_cache()
    yield tmp_path / "kubecache"
    clear_memory_cache()


def _client(kubeconfig: Path, cache_dir: Path | bool, **options: Any) -> dynkube.Client:
    return dynkube.Client(kubeconfig=kubeconfig, cache_dir=cache_dir, **options)


def _crd_body(group: str, plural: str, kind: str, scope: str = "Namespaced",
              short_names: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"}, "spec": {
                "group": group, "scope": scope,
                "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "shortNames": list(short_names)},
                "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                    "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


@contextlib.contextmanager
def _crds(client: dynkube.Client, *bodies: dict[str, Any]) -> Iterator[None]:
    """Create CRDs (Established on entry) and delete them on exit."""
    crds = client.resource("customresourcedefinitions")
    names = [b["metadata"]["name"] for b in bodies]
    try:
        for body in bodies:
            crds.create(body)
        for name in names:
            dynkube.wait_for(crds, name, condition="Established", timeout=WAIT)
        yield
    finally:
        for name in names:
            with contextlib.suppress(dynkube.NotFound):
                crds.delete(name)


def _until(what: str, check: Callable[[], bool]) -> None:
    """Call ``check`` until it is true (the server's discovery follows CRD changes a moment later)."""
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.2)


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], input=stdin, capture_output=True,
                          text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    clear_memory_cache()  # as a new process: only the disk cache is left
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _names(resources: list[dynkube.Resource]) -> set[str]:
    return {r.group_resource for r in resources}


# ---- a. listings reflect the server now -----------------------------------------------------------

def test_api_resources_sees_a_crd_another_tool_created_and_deleted(kubeconfig_path: Path, cache: Path) -> None:
    _client(kubeconfig_path, cache).resource("pods")  # warm the disk cache first
    suffix = uuid.uuid4().hex[:8]
    group, plural = f"t{suffix}.example.com", f"things{suffix}"
    _kubectl(kubeconfig_path, "create", "-f", "-", stdin=json.dumps(_crd_body(group, plural, f"Thing{suffix}")))
    try:
        _kubectl(kubeconfig_path, "wait", "--for=condition=Established", f"crd/{plural}.{group}", f"--timeout={WAIT}s")
        clear_memory_cache()
        later = _client(kubeconfig_path, cache)
        assert f"{plural}.{group}" not in _names(later.api_resources(cached=True))  # the cache, on request
        _until("the new CRD is listed", lambda: f"{plural}.{group}" in _names(later.api_resources()))
    finally:
        _kubectl(kubeconfig_path, "delete", "crd", f"{plural}.{group}", "--ignore-not-found")
    _until("the deleted CRD is no longer listed", lambda: f"{plural}.{group}" not in _names(later.api_resources()))


def test_cli_listings_see_a_new_crd_unless_cached(kubeconfig_path: Path, cache: Path, each_client: Any,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECACHEDIR", str(cache))
    suffix = uuid.uuid4().hex[:8]
    group, plural = f"t{suffix}.example.com", f"things{suffix}"
    assert _cli(capsys, "--kubeconfig", str(kubeconfig_path), "api-versions")[0] == 0  # warms the disk cache
    with _crds(each_client, _crd_body(group, plural, f"Thing{suffix}")):
        commands: list[tuple[list[str], str]] = [(["api-resources", "-o", "name"], f"{plural}.{group}"),
                                                 (["api-versions"], f"{group}/v1"),
                                                 (["tree", "-o", "json"], f'"{group}"')]
        for argv, expected in commands:  # all before any listing updates the cache
            code, out, err = _cli(capsys, "--kubeconfig", str(kubeconfig_path), *argv, "--cached")
            assert code == 0 and expected not in out, (argv, err)
        for argv, expected in commands:
            def listed(argv: list[str] = argv, expected: str = expected) -> bool:
                code, out, err = _cli(capsys, "--kubeconfig", str(kubeconfig_path), *argv)
                assert code == 0, err
                return expected in out

            _until(f"{' '.join(argv)} lists {group}", listed)


def test_an_unchanged_server_costs_two_304s_and_keeps_the_map(kubeconfig_path: Path, cache: Path) -> None:
    client = _client(kubeconfig_path, cache)
    client.resource("pods")
    clear_memory_cache()
    deadline = time.monotonic() + WAIT
    while True:  # other tests change CRDs on the shared server: retry until two listings see the same server
        first = _client(kubeconfig_path, cache)
        before = first.api_map()
        second = first.api_map()
        if first.discovery.stats == {"requests": 4, "not_modified": 4}:
            break
        assert time.monotonic() < deadline, first.discovery.stats
        clear_memory_cache()
    assert second is before


# ---- b. a listing does not hide that the server refuses us ----------------------------------------

def _bad_token_kubeconfig(kubeconfig_path: Path, path: Path) -> Path:
    doc = yaml.safe_load(kubeconfig_path.read_text())
    current = next(c for c in doc["contexts"] if c["name"] == doc["current-context"])
    for user in doc["users"]:
        if user["name"] == current["context"]["user"]:
            user["user"] = {"token": "not-a-valid-token"}
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("argv", [["api-resources"], ["api-versions"], ["tree"]])
def test_listing_with_an_invalid_token_says_unauthorized(kubeconfig_path: Path, cache: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.setenv("KUBECACHEDIR", str(cache))
    _client(kubeconfig_path, cache).resource("pods")  # a warm cache for this server
    bad = _bad_token_kubeconfig(kubeconfig_path, tmp_path / "bad-token")
    code, out, err = _cli(capsys, "--kubeconfig", str(bad), *argv)
    assert code == 1 and "Unauthorized" in err and not out
    assert "not-a-valid-token" not in err
    assert _cli(capsys, "--kubeconfig", str(bad), *argv, "--cached")[0] == 0  # asked for: the cache


def test_api_resources_with_an_invalid_token_raises_unauthorized(kubeconfig_path: Path, cache: Path,
                                                                 tmp_path: Path) -> None:
    _client(kubeconfig_path, cache).resource("pods")
    clear_memory_cache()
    with pytest.raises(dynkube.Unauthorized):
        _client(_bad_token_kubeconfig(kubeconfig_path, tmp_path / "bad-token"), cache).api_resources()


# ---- c. a kind deleted since it was cached --------------------------------------------------------

def test_a_kind_deleted_since_it_was_cached_is_named(kubeconfig_path: Path, cache: Path, each_client: Any,
                                                      crd_factory: Callable[..., str], namespace: str) -> None:
    kind = crd_factory()
    stale = _client(kubeconfig_path, cache)
    _until("the new CRD resolves", lambda: _resolves(stale, kind))
    things = stale.resource(kind)
    name = f"{things.plural}.{things.group}"
    each_client.resource("customresourcedefinitions").delete(name)
    dynkube.wait_for(each_client.resource("customresourcedefinitions"), name, condition="delete", timeout=WAIT)

    def named() -> bool:
        try:
            list(things.list(namespace))
        except dynkube.ResourceNotFound as exc:
            assert f"no longer serves {name}" in str(exc) and exc.name == name
            return True
        except dynkube.NotFound:
            pass  # the server's discovery still lists it for a moment
        return False

    _until("the deleted kind is named", named)
    with pytest.raises(dynkube.ResourceNotFound, match="no longer serves"):
        things.create({"metadata": {"name": "x"}}, namespace)


def test_cli_names_a_kind_deleted_since_it_was_cached(kubeconfig_path: Path, cache: Path, each_client: Any,
                                                      crd_factory: Callable[..., str], namespace: str,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECACHEDIR", str(cache))
    kind = crd_factory()
    _until("the new CRD resolves", lambda: _resolves(_client(kubeconfig_path, cache), kind))
    resource = each_client.resource(kind)
    name = f"{resource.plural}.{resource.group}"
    each_client.resource("customresourcedefinitions").delete(name)
    dynkube.wait_for(each_client.resource("customresourcedefinitions"), name, condition="delete", timeout=WAIT)
    clear_memory_cache()
    _client(kubeconfig_path, cache).api_map(cached=True)  # the disk cache still lists the kind

    def named() -> bool:
        code, out, err = _cli(capsys, "--kubeconfig", str(kubeconfig_path), "get", resource.plural, "-n", namespace)
        assert code == 1, (out, err)
        return "no longer serves" in err and name in err and "Traceback" not in err

    _until("dynkube get names the deleted kind", named)


def test_a_missing_object_is_not_found_without_asking_discovery(each_client: Any, namespace: str) -> None:
    configmaps = each_client.resource("configmaps")
    before = dict(each_client.discovery.stats)
    with pytest.raises(dynkube.NotFound):
        configmaps.get("does-not-exist", namespace)
    with pytest.raises(dynkube.NotFound):  # create in a namespace that does not exist: a Status, not a stale map
        configmaps.create({"metadata": {"name": "c"}}, f"no-such-{uuid.uuid4().hex[:6]}")
    assert each_client.discovery.stats == before


def _resolves(each_client: dynkube.Client, name: str) -> bool:
    try:
        each_client.resource(name)
    except dynkube.ResourceNotFound:
        return False
    return True


# ---- d. CRDs reusing built-in names ---------------------------------------------------------------

def test_builtin_names_win_over_crds_that_reuse_them(kubeconfig_path: Path, cache: Path, each_client: Any,
                                                     namespace: str, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Built-in names no other test uses, so that the other tests of this shared server are undisturbed.
    group = f"x-{uuid.uuid4().hex[:8]}.example.com"
    reused = [("leases", "Lease", "Namespaced", ()), ("runtimeclasses", "RuntimeClass", "Cluster", ()),
              ("cronjobs", "CronJob", "Namespaced", ("cj",))]
    with _crds(each_client, *(_crd_body(group, *r) for r in reused)):
        fresh = _client(kubeconfig_path, cache)
        _until("the CRDs are discovered", lambda: all(_resolves(fresh, f"{r[0]}.{group}") for r in reused))
        groups = {r.group for r in fresh.api_map() if r.plural in ("leases", "runtimeclasses", "cronjobs")}
        # CRDs of the other client's run of this test, deleted and on their way out of discovery:
        earlier = {g for g in groups if g.endswith(".example.com") and g != group}
        assert groups - earlier == {"coordination.k8s.io", "node.k8s.io", "batch", group}
        assert fresh.resource("leases").group == "coordination.k8s.io"
        assert fresh.resource("Lease").group == "coordination.k8s.io"
        assert fresh.resource("runtimeclasses").group == "node.k8s.io"
        assert fresh.resource("cj").group == "batch"
        assert fresh.resource(f"cronjobs.{group}").group == group
        monkeypatch.setenv("KUBECACHEDIR", str(cache))
        code, out, err = _cli(capsys, "--kubeconfig", str(kubeconfig_path), "get", "cronjobs,leases", "-n", namespace)
        assert code == 0, err


def test_an_ambiguous_name_raises_at_once_without_refreshing(kubeconfig_path: Path, cache: Path,
                                                             each_client: Any) -> None:
    suffix = uuid.uuid4().hex[:8]
    plural, kind = f"widgets{suffix}", f"Widget{suffix}"
    groups = [f"a{suffix}.example.com", f"b{suffix}.example.com"]
    with _crds(each_client, *(_crd_body(g, plural, kind) for g in groups)):
        fresh = _client(kubeconfig_path, cache)
        _until("both CRDs are discovered", lambda: all(_resolves(fresh, f"{plural}.{g}") for g in groups))
        before = dict(fresh.discovery.stats)
        for _ in range(3):
            with pytest.raises(dynkube.AmbiguousResource) as caught:
                fresh.resource(plural)
            assert set(caught.value.candidates) == {f"{plural}.{g}" for g in groups}
        assert fresh.discovery.stats == before  # not a miss: no refresh, no wait for the refresh interval


# ---- 10. corrupt disk cache entries are absent ----------------------------------------------------

def _etags_as_list(doc: dict[str, Any]) -> None:
    doc["etags"] = list(doc["etags"].values())


def _numeric_etags(doc: dict[str, Any]) -> None:
    doc["etags"] = {"api": 12345, "apis": 67890}


def _etag_without_body(doc: dict[str, Any]) -> None:
    del doc["apis"]


def _saved_in_the_future(doc: dict[str, Any]) -> None:
    doc["saved"] = time.time() + 10 * 365 * 86400


@pytest.mark.parametrize("corrupt", [_etags_as_list, _numeric_etags, _etag_without_body, _saved_in_the_future])
def test_an_inconsistent_cache_entry_is_treated_as_absent(kubeconfig_path: Path, cache: Path,
                                                          corrupt: Callable[[dict[str, Any]], None]) -> None:
    _client(kubeconfig_path, cache).resource("pods")
    [cache_file] = cache.rglob("dynkube.json")
    doc = json.loads(cache_file.read_text())
    corrupt(doc)
    cache_file.write_text(json.dumps(doc))
    for _ in range(2):  # the answer is rewritten, so a second client starts from a good entry
        clear_memory_cache()
        client = _client(kubeconfig_path, cache, discovery_ttl=0)  # revalidates: the 304 path reads the entry
        assert client.resource("pods").kind == "Pod"
        assert client.api_resources(verbs=["list"])
    rewritten = json.loads(cache_file.read_text())
    assert isinstance(rewritten["etags"], dict) and all(isinstance(e, str) for e in rewritten["etags"].values())
    assert rewritten["saved"] <= time.time()


def test_a_cache_entry_saved_in_the_future_is_not_used(kubeconfig_path: Path, cache: Path) -> None:
    _client(kubeconfig_path, cache).resource("pods")
    [cache_file] = cache.rglob("dynkube.json")
    doc = json.loads(cache_file.read_text())
    _saved_in_the_future(doc)
    cache_file.write_text(json.dumps(doc))
    clear_memory_cache()
    client = _client(kubeconfig_path, cache)
    client.resource("pods")
    assert client.discovery.stats["requests"] == 2  # asked the server: the entry never expires otherwise
