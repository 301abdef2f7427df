"""What an import loads, each in a fresh interpreter: ``import dynkube.aio`` none of the sync client's
HTTP stack (requests, urllib3, charset_normalizer: ~30 ms of an asyncio program's start), ``import
dynkube`` no HTTP library, no YAML parser, no ``dataclasses``; the names loaded on first use still
import where the docs teach them."""

from __future__ import annotations

import json
import subprocess
import sys

SYNC_STACK = ("requests", "urllib3", "charset_normalizer")
OPTIONAL = ("websockets", "aiohttp", "orjson", "yaml", "dataclasses", *SYNC_STACK)


def loaded(code: str, names: tuple[str, ...]) -> list[str]:
    """Which of the top-level ``names`` a fresh interpreter has in sys.modules after ``code``."""
    tops = "{m.split('.')[0] for m in sys.modules}"
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({tops} & {set(names)!r})))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(run.stdout))


def test_import_dynkube_aio_loads_neither_requests_nor_urllib3() -> None:
    assert loaded("import dynkube.aio", SYNC_STACK) == []


def test_an_asyncio_client_is_made_without_requests() -> None:
    code = ("import dynkube, dynkube.aio\n"
            "config = dynkube.Config.from_url('https://127.0.0.1:6443', token='t', insecure_skip_tls_verify=True)\n"
            "client = dynkube.aio.Client(config)")
    assert loaded(code, SYNC_STACK) == []


def test_import_dynkube_loads_no_http_library_yaml_or_dataclasses() -> None:
    assert loaded("import dynkube", OPTIONAL) == []


def test_the_names_loaded_on_first_use_import_where_the_docs_teach_them() -> None:
    code = ("from dynkube import Client, ResourceClient, ExecStream, PortForwarder, Watch\n"
            "from dynkube.aio import Client as AsyncClient, Informer, apply_manifests\n"
            "import dynkube.client, dynkube.aio.informer, dynkube.aio.manifests\n"
            "assert Client is dynkube.client.Client and Informer is dynkube.aio.informer.Informer\n"
            "assert apply_manifests is dynkube.aio.manifests.apply_manifests")
    assert loaded(code, ("requests",)) == ["requests"]  # the sync client is requests'
