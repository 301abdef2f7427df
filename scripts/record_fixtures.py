#!/usr/bin/env python3
"""Record fixtures for unit tests from the real local server (`make fixtures`).

Writes fixtures/: /version, aggregated and legacy discovery (with the response headers that
matter), the OpenAPI v3 index and two group-version documents, and real Status bodies for the
common errors. Installs fixtures/crds/gizmos.yaml first so the recordings include a CRD with
short names, categories and status/scale subresources. Regenerate, never hand-edit.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dynkube  # noqa: E402
from dynkube.core.discovery import AGGREGATED_ACCEPT  # noqa: E402
from dynkube.errors import ApiError  # noqa: E402

OUT = ROOT / "fixtures"


def main() -> None:
    kubeconfig = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".envtest" / "run" / "kubeconfig"
    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=False)
    results = dynkube.apply_manifests(client, OUT / "crds" / "gizmos.yaml")
    if not all(r.ok for r in results):
        sys.exit(f"installing the fixture CRD failed: {[str(r) for r in results]}")
    t = client.transport
    save("server/version.json", t.request("GET", "/version").json())
    for path in ("/api", "/apis"):
        response = t.request("GET", path, headers={"Accept": AGGREGATED_ACCEPT})
        save(f"discovery/aggregated{path}.json", response.json())
        save(f"discovery/aggregated{path}.headers.json",
             {k: response.headers[k] for k in ("Content-Type", "ETag") if k in response.headers})
    legacy_api = t.request("GET", "/api", headers={"Accept": "application/json"}).json()
    legacy_apis = t.request("GET", "/apis", headers={"Accept": "application/json"}).json()
    save("discovery/legacy/api.json", legacy_api)
    save("discovery/legacy/apis.json", legacy_apis)
    gvs = [f"api/{v}" for v in legacy_api["versions"]]
    gvs += [f"apis/{v['groupVersion']}" for g in legacy_apis["groups"] for v in g["versions"]]
    for gv in gvs:
        save(f"discovery/legacy/{gv.replace('/', '__')}.json", t.request("GET", f"/{gv}").json())
    index = t.request("GET", "/openapi/v3").json()
    save("openapi/index.json", index)
    for key in ("apis/batch/v1", "apis/fixtures.dynkube.io/v1"):
        document = t.request("GET", index["paths"][key]["serverRelativeURL"]).json()
        save(f"openapi/{key.replace('/', '__')}.json", document)
    record_statuses(client)
    print(f"fixtures written to {OUT}")


def record_statuses(client: dynkube.Client) -> None:
    ns = f"fixtures-{uuid.uuid4().hex[:6]}"
    namespaces = client.resource("namespaces")
    namespaces.create({"metadata": {"name": ns}})
    cms = client.resource("configmaps")
    try:
        cm = cms.create({"metadata": {"name": "cm"}, "data": {"a": "1"}}, ns)
        statuses = {
            "not_found": lambda: cms.get("missing", ns),
            "already_exists": lambda: cms.create({"metadata": {"name": "cm"}}, ns),
            "conflict": lambda: cms.replace({**cm, "metadata": {**cm["metadata"], "resourceVersion": "1"}}, ns),
            "invalid": lambda: cms.create({"metadata": {"name": "Bad_Name"}}, ns),
            "unsupported_media_type": lambda: client.resource("gizmos").patch(
                "x", {"spec": {}}, ns, patch_type="strategic"),
        }
        for name, call in statuses.items():
            try:
                call()
            except ApiError as exc:
                save(f"status/{name}.json", exc.status)
            else:
                sys.exit(f"expected an error for {name}")
    finally:
        namespaces.delete(ns)


def save(relative: str, document: object) -> None:
    path = OUT / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"took {time.monotonic() - started:.1f}s")
