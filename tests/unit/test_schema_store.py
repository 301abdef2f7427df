"""SchemaStore's fetching and caching: lazy index, per-group-version documents by hash, the disk cache.

The transport is ``RecordedTransport`` (see test_schema_support): the transport's interface over
recorded bytes. Requests against the real server are covered by the integration tests.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dynkube import errors, schema
from dynkube._diskcache import DiskCache
from dynkube.schema import SchemaStore, openapi_disk_cache, parse_document, parse_index

from .test_schema_support import RecordedTransport, document_bytes, sha512_hex

pytestmark = pytest.mark.usefixtures("json_decoder")  # every reader under both decoders

APPS = "apis/apps/v1"
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
              "spec": {"selector": {}, "template": {}}}


def serving(*gvs: str) -> RecordedTransport:
    return RecordedTransport.serving({gv: document_bytes(gv) for gv in gvs})


def doc_file(cache: DiskCache, gv: str) -> Path:
    return cache.directory / gv / f"{sha512_hex(document_bytes(gv))}.json"


def test_nothing_is_fetched_until_asked():
    transport = serving(APPS)
    SchemaStore(transport)
    assert transport.calls == []


def test_index_once_then_only_the_documents_used():
    transport = serving(APPS, "api/v1", "apis/batch/v1")
    store = SchemaStore(transport)
    assert store.validate_object(DEPLOYMENT) == []
    assert store.validate_object(DEPLOYMENT) == []
    store.explain("apps", "v1", "Deployment", "spec.replicas")
    assert transport.paths == ["/openapi/v3", "/openapi/v3/apis/apps/v1"]


def test_document_is_requested_with_its_hash():
    transport = serving(APPS)
    SchemaStore(transport).document("apps", "v1")
    assert transport.calls[1] == ("/openapi/v3/apis/apps/v1", {"hash": sha512_hex(document_bytes(APPS))})


def test_group_versions_come_from_the_index():
    assert SchemaStore(serving(APPS, "api/v1")).group_versions() == ["api/v1", "apis/apps/v1"]


def test_disk_cache_serves_a_second_store_without_fetching_documents(tmp_path):
    cache = DiskCache(tmp_path, None)
    SchemaStore(serving(APPS), disk_cache=cache).document("apps", "v1")
    transport = serving(APPS)
    assert SchemaStore(transport, disk_cache=cache).validate_object(DEPLOYMENT) == []
    assert transport.paths == ["/openapi/v3"]


def test_cached_document_is_keyed_by_group_version_and_hash_and_private(tmp_path):
    cache = DiskCache(tmp_path, None)
    SchemaStore(serving(APPS), disk_cache=cache).document("apps", "v1")
    path = doc_file(cache, APPS)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_bytes()) == json.loads(document_bytes(APPS))


def test_corrupt_cache_file_is_ignored_and_replaced(tmp_path):
    cache = DiskCache(tmp_path, None)
    path = doc_file(cache, APPS)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"components": {"sche')  # truncated write
    transport = serving(APPS)
    assert SchemaStore(transport, disk_cache=cache).validate_object(DEPLOYMENT) == []
    assert transport.paths == ["/openapi/v3", "/openapi/v3/apis/apps/v1"]
    assert json.loads(path.read_bytes())["components"]["schemas"]


def test_cache_file_that_is_json_but_not_a_document_is_ignored(tmp_path):
    cache = DiskCache(tmp_path, None)
    path = doc_file(cache, APPS)
    path.parent.mkdir(parents=True)
    path.write_text("[1, 2, 3]")
    assert SchemaStore(serving(APPS), disk_cache=cache).validate_object(DEPLOYMENT) == []


def test_unparsable_document_names_its_url_and_is_never_cached(tmp_path):
    cache = DiskCache(tmp_path, None)
    transport = serving(APPS)
    transport.bodies["/openapi/v3/apis/apps/v1"] = b"<html>proxy error</html>"
    store = SchemaStore(transport, disk_cache=cache)
    with pytest.raises(errors.SchemaUnavailable, match=r"/openapi/v3/apis/apps/v1\?hash=.* is not valid JSON"):
        store.document("apps", "v1")
    assert not any(tmp_path.rglob("*.json"))
    transport.bodies["/openapi/v3/apis/apps/v1"] = document_bytes(APPS)  # the proxy recovers
    assert store.validate_object(DEPLOYMENT) == []
    assert doc_file(cache, APPS).is_file()


def test_server_without_openapi_v3_is_schema_unavailable():
    transport = RecordedTransport({})
    with pytest.raises(errors.SchemaUnavailable, match="does not publish OpenAPI v3"):
        SchemaStore(transport).validate_object(DEPLOYMENT)


def test_missing_group_version_is_schema_unavailable_with_suggestion():
    with pytest.raises(errors.SchemaUnavailable, match="document for apis/apps/v2; did you mean apis/apps/v1"):
        SchemaStore(serving(APPS)).document("apps", "v2")


def test_missing_group_version_refetches_the_index_once(monkeypatch):
    monkeypatch.setattr(schema.store, "_INDEX_REFRESH_SECONDS", 0.0)
    transport = serving(APPS)
    store = SchemaStore(transport)
    store.document("apps", "v1")
    transport.publish({APPS: document_bytes(APPS), "apis/batch/v1": document_bytes("apis/batch/v1")})  # a new GV
    assert store.document("batch", "v1")["components"]["schemas"]
    assert transport.paths.count("/openapi/v3") == 2


def test_index_is_not_refetched_in_a_burst_of_misses():
    transport = serving(APPS)
    store = SchemaStore(transport)
    store.document("apps", "v1")
    for _ in range(3):
        with pytest.raises(errors.SchemaUnavailable):
            store.document("example.com", "v1")
    assert transport.paths.count("/openapi/v3") == 1


def test_invalidate_makes_a_new_group_version_visible():
    transport = serving(APPS)
    store = SchemaStore(transport)
    assert store.group_versions() == [APPS]
    transport.publish({APPS: document_bytes(APPS), "apis/batch/v1": document_bytes("apis/batch/v1")})
    store.invalidate()
    assert store.group_versions() == [APPS, "apis/batch/v1"]


def test_new_hash_replaces_the_document_and_prunes_the_old_file(tmp_path):
    cache = DiskCache(tmp_path, None)
    transport = serving(APPS)
    store = SchemaStore(transport, disk_cache=cache)
    old = store.json_schema("apps", "v1", "Deployment")
    changed = json.loads(document_bytes(APPS))
    changed["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["newField"] = {"type": "string"}
    body = json.dumps(changed).encode()
    transport.publish({APPS: body})
    store.invalidate()
    new = store.json_schema("apps", "v1", "Deployment")
    assert new is not old
    assert "newField" in new["properties"]["spec"]["properties"]
    assert [p.name for p in (tmp_path / APPS).iterdir()] == [f"{sha512_hex(body)}.json"]


def test_redirected_document_is_used_but_not_written_to_disk(tmp_path):
    cache = DiskCache(tmp_path, None)
    transport = serving(APPS)
    transport.redirected.add("/openapi/v3/apis/apps/v1")  # stale hash: the server answered for another one
    assert SchemaStore(transport, disk_cache=cache).validate_object(DEPLOYMENT) == []
    assert not any(tmp_path.rglob("*.json"))


def test_document_gone_between_index_and_fetch():
    transport = serving(APPS)
    del transport.bodies["/openapi/v3/apis/apps/v1"]
    with pytest.raises(errors.SchemaUnavailable, match="returned 404"):
        SchemaStore(transport).document("apps", "v1")


def test_from_documents_never_fetches_and_rejects_non_documents():
    store = SchemaStore.from_documents({"/apis/apps/v1": json.loads(document_bytes(APPS))})
    assert store.group_versions() == [APPS]
    with pytest.raises(errors.InvalidInput):
        SchemaStore.from_documents({APPS: {"openapi": "3.0.0"}})


def test_disk_cache_location_follows_kubectl_layout(tmp_path):
    cache = openapi_disk_cache("https://127.0.0.1:6443", tmp_path)
    assert cache.directory == tmp_path / "openapi" / "127.0.0.1_6443"
    assert cache.ttl_seconds is None


def test_parse_index_strips_slashes_and_reads_hashes():
    index = parse_index(b'{"paths": {"apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=AB12"},'
                        b' "/api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=CD34"}, "bad": 1}}')
    assert {k: (e.url, e.hash) for k, e in index.items()} == {
        "apis/apps/v1": ("/openapi/v3/apis/apps/v1?hash=AB12", "AB12"),
        "api/v1": ("/openapi/v3/api/v1?hash=CD34", "CD34"),
    }


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"paths": []}'])
def test_parse_index_rejects_malformed_bodies(body):
    with pytest.raises(errors.SchemaUnavailable, match="/openapi/v3"):
        parse_index(body)


def test_parse_document_requires_components_schemas():
    with pytest.raises(errors.SchemaUnavailable, match="https://x/openapi/v3/api/v1 has no components.schemas"):
        parse_document(b'{"openapi": "3.0.0"}', "https://x/openapi/v3/api/v1")


def test_unsafe_hash_or_path_is_not_written_to_disk(tmp_path):
    cache = DiskCache(tmp_path, None)
    index = {"paths": {APPS: {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=../../x"}}}
    transport = RecordedTransport({"/openapi/v3": json.dumps(index).encode(),
                                   "/openapi/v3/apis/apps/v1": document_bytes(APPS)})
    SchemaStore(transport, disk_cache=cache).document("apps", "v1")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    assert not (tmp_path.parent / "x.json").exists()


def test_store_is_usable_from_threads():
    transport = serving(APPS)
    store = SchemaStore(transport)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.validate_object(DEPLOYMENT), range(32)))
    assert results == [[]] * 32
    assert transport.paths == ["/openapi/v3", "/openapi/v3/apis/apps/v1"]


def test_import_of_dynkube_schema_does_not_import_jsonschema():
    code = "import sys, dynkube.schema; print('jsonschema' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"
