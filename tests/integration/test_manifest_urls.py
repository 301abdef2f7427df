"""Manifests from an http(s) URL (``apply -f https://...``), fetched from a real local web server
that stands in for the site hosting the YAML; the objects go to the real API server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.cli import main


class _Site(http.server.SimpleHTTPRequestHandler):
    """Files of a directory, ``/moved`` redirecting to ``/stack.yaml``; remembers the headers seen."""

    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers))
        if self.path.startswith("/moved"):
            self.send_response(302)
            self.send_header("Location", "/stack.yaml")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, served directory) of a web server on 127.0.0.1."""
    _Site.seen = []
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *args: _Site(*args, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _stack(namespace: str) -> str:
    return "---\n".join(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
                        for name in ("from-web-a", "from-web-b"))


def test_apply_manifests_from_a_url(each_client: Any, each_tools: Any, namespace: str, site: tuple[str, Path]) -> None:
    base, root = site
    (root / "stack.yaml").write_text(_stack(namespace))
    results = each_tools.apply_manifests(each_client, f"{base}/stack.yaml")
    assert [str(r) for r in results] == ["configmap/from-web-a created", "configmap/from-web-b created"]
    assert results[0].document.source == f"{base}/stack.yaml"
    assert each_client.resource("cm").get("from-web-b", namespace).metadata.name == "from-web-b"
    assert [h.get("Authorization") for h in _Site.seen] == [None]  # no cluster credentials go to the web


def test_redirects_are_followed(client: dynkube.Client, namespace: str, site: tuple[str, Path]) -> None:
    base, root = site
    (root / "stack.yaml").write_text(_stack(namespace))
    documents = dynkube.load_url(f"{base}/moved")
    assert [d.body["metadata"]["name"] for d in documents] == ["from-web-a", "from-web-b"]  # type: ignore[index]
    assert len(_Site.seen) == 2


def test_a_missing_url_is_one_clear_error_without_its_query(each_client: Any, each_tools: Any,
                                                            site: tuple[str, Path]) -> None:
    base, _ = site
    with pytest.raises(dynkube.ManifestError) as failed:
        each_tools.apply_manifests(each_client, f"{base}/missing.yaml?token=s3cret")
    assert str(failed.value) == f"cannot read manifest {base}/missing.yaml?...: the server answered 404 File not found"


def test_a_url_nobody_answers_is_a_manifest_error(client: dynkube.Client, site: tuple[str, Path]) -> None:
    base, _ = site
    closed = http.server.HTTPServer(("127.0.0.1", 0), _Site)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens on this port now
    with pytest.raises(dynkube.ManifestError, match=f"^cannot read manifest http://127.0.0.1:{port}/x.yaml: "):
        dynkube.load_url(f"http://127.0.0.1:{port}/x.yaml")


@pytest.fixture
def cli(kubeconfig_path: Path, cache_root: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str, str]]:
    monkeypatch.setenv("KUBECACHEDIR", str(cache_root))

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--kubeconfig", str(kubeconfig_path), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_apply_and_delete_of_a_url(cli: Callable[..., tuple[int, str, str]], client: dynkube.Client,
                                       namespace: str, site: tuple[str, Path]) -> None:
    base, root = site
    (root / "stack.yaml").write_text(_stack(namespace))
    assert cli("apply", "-f", f"{base}/stack.yaml") == (
        0, "configmap/from-web-a created\nconfigmap/from-web-b created\n", "")
    code, out, _ = cli("delete", "-f", f"{base}/stack.yaml")
    assert code == 0 and "from-web-a" in out and "from-web-b" in out


def test_cli_apply_of_a_missing_url_is_one_error_line(cli: Callable[..., tuple[int, str, str]],
                                                      site: tuple[str, Path]) -> None:
    base, _ = site
    code, out, err = cli("apply", "-f", f"{base}/missing.yaml")
    assert code != 0 and out == ""
    assert err.splitlines() == [f"error: cannot read manifest {base}/missing.yaml: the server answered 404 "
                                "File not found"]
