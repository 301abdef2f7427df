"""The dynkube command line against the real server, with kubectl on the same server as the reference.

Most runs call ``dynkube.cli.main`` in-process (fast); a few run the installed ``dynkube`` script to
prove the entry point and its exit codes.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import dynkube
from dynkube.cli import main
from dynkube.cli.tree import count_objects

SCRIPT = Path(sys.executable).parent / "dynkube"
STABLE_GROUP = ("", "fixtures.dynkube.io")  # plus every *.k8s.io group and the dotless built-in groups


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(kubeconfig_path: Path, cache_root: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Runs ``dynkube --kubeconfig <test cluster> ARGS...`` in-process."""
    monkeypatch.setenv("KUBECACHEDIR", str(cache_root))
    monkeypatch.delenv("NO_COLOR", raising=False)

    def run(*argv: str, kubeconfig: Path | None = kubeconfig_path) -> Run:
        capsys.readouterr()
        prefix = ["--kubeconfig", str(kubeconfig)] if kubeconfig else []
        code = main([*prefix, *argv])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


@pytest.fixture
def kubectl(kubeconfig_path: Path) -> Callable[..., str]:
    """kubectl's stdout on the same cluster (fails the test when kubectl fails)."""
    if not shutil.which("kubectl"):
        pytest.fail("kubectl is needed on PATH as the reference of the CLI tests", pytrace=False)

    def run(*argv: str) -> str:
        done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig_path), *argv], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


@pytest.fixture
def objects(client: dynkube.Client, namespace: str, gizmo_crds: None) -> str:
    """Two configmaps and two gizmos labelled suite=<namespace>, in the test's namespace."""
    for name, data in (("alpha", {"k": "v"}), ("beta", {"x": "1", "y": "ünïcødé ✓ <a&b>"})):
        client.resource("configmaps").create({"metadata": {"name": name, "labels": {"suite": namespace}},
                                              "data": data}, namespace)
    for name, spec in (("g1", {"size": "small", "replicas": 2}), ("g2", {"size": "large"})):
        client.resource("gizmos").create({"metadata": {"name": name, "labels": {"suite": namespace}}, "spec": spec},
                                         namespace)
    return namespace


def one_error_line(run: Run) -> str:
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert "Traceback" not in run.err
    return lines[0]


def stable_rows(text: str, group_column: int) -> set[tuple[str, ...]]:
    """Rows of an api-resources table whose group is built in or ours (other suites add CRDs meanwhile)."""
    rows = set()
    for line in text.splitlines()[1:]:
        cells = tuple(line.split())
        api_version = next(c for c in cells if "/" in c or c == "v1")
        group = api_version.rpartition("/")[0]
        if group in STABLE_GROUP or group.endswith(".k8s.io") or "." not in group:
            rows.add(cells)
    return rows


# ---- discovery commands -----------------------------------------------------------------

def test_api_resources_match_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str], gizmo_crds: None) -> None:
    ours = cli("api-resources")
    assert ours.code == 0, ours.err
    assert ours.out.splitlines()[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    theirs = kubectl("api-resources")
    mine = stable_rows(ours.out, 2)
    assert mine == stable_rows(theirs, 2)
    assert ("gizmos", "gz", "fixtures.dynkube.io/v1", "true", "Gizmo") in mine


def test_api_resources_filters_match_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str]) -> None:
    for flags in (["--api-group=apps", "-o", "wide"], ["--namespaced=false", "--verbs=list,watch", "-o", "name"]):
        ours = cli("api-resources", *flags)
        assert ours.code == 0, ours.err
        if "name" in flags:
            keep = {n for n in ours.out.split() if "." not in n or n.endswith(".k8s.io") or n.count(".") == 1}
            assert keep == {n for n in kubectl("api-resources", *flags).split()
                            if "." not in n or n.endswith(".k8s.io") or n.count(".") == 1}
            assert "namespaces" in keep and "pods" not in keep
        else:
            assert [line.rstrip() for line in ours.out.splitlines()] == \
                [line.rstrip() for line in kubectl("api-resources", *flags).splitlines()]


def test_api_versions_include_kubectls(cli: Callable[..., Run], kubectl: Callable[..., str]) -> None:
    ours = cli("api-versions")
    assert ours.code == 0
    stable = [v for v in kubectl("api-versions").split() if v == "v1" or v.split("/")[0].count(".") <= 2
              and "example.com" not in v and "bench" not in v]
    assert set(stable) <= set(ours.out.split())
    assert ours.out.split() == sorted(ours.out.split())


def test_version_shows_client_and_server(cli: Callable[..., Run], client: dynkube.Client) -> None:
    ours = cli("version")
    assert ours.code == 0
    assert ours.out.splitlines() == [f"Client Version: v{dynkube.__version__}",
                                     f"Server Version: {client.version()['gitVersion']}"]
    as_json = json.loads(cli("version", "-o", "json").out)
    assert as_json["serverVersion"]["gitVersion"] == client.version()["gitVersion"]


# ---- get ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_get_list_is_kubectls_list(cli: Callable[..., Run], kubectl: Callable[..., str], objects: str,
                                   fmt: str) -> None:
    for kind in ("configmaps", "gizmos"):
        args = ("get", kind, "-n", objects, "-l", f"suite={objects}", "-o", fmt)
        ours = cli(*args)
        assert ours.code == 0, ours.err
        assert ours.out == kubectl(*args)  # byte for byte: same List, keys, indentation, quoting
        parsed = json.loads(ours.out) if fmt == "json" else yaml.safe_load(ours.out)
        assert parsed["kind"] == "List" and len(parsed["items"]) == 2


def test_get_one_object_is_the_object(cli: Callable[..., Run], kubectl: Callable[..., str], objects: str) -> None:
    for args in (("get", "gizmo", "g1", "-n", objects, "-o", "json"), ("get", "cm/beta", "-n", objects, "-o", "yaml")):
        ours = cli(*args)
        assert ours.code == 0, ours.err
        assert ours.out == kubectl(*args)
    assert json.loads(cli("get", "gz", "g1", "-n", objects, "-o", "json").out)["spec"] == {"size": "small",
                                                                                           "replicas": 2}


def test_get_names_of_several_kinds(cli: Callable[..., Run], kubectl: Callable[..., str], objects: str) -> None:
    args = ("get", "cm,gizmos.fixtures.dynkube.io", "-n", objects, "-l", f"suite={objects}", "-o", "name")
    ours = cli(*args)
    assert ours.out.splitlines() == ["configmap/alpha", "configmap/beta", "gizmo.fixtures.dynkube.io/g1",
                                     "gizmo.fixtures.dynkube.io/g2"]
    assert ours.out == kubectl(*args)


def test_default_table_is_kubectls(cli: Callable[..., Run], kubectl: Callable[..., str], objects: str) -> None:
    for args in (("get", "gizmos", "-n", objects), ("get", "gz", "-A", "-l", f"suite={objects}"),
                 ("get", "gz,cgz", "-n", objects, "-l", f"suite={objects}"),
                 ("get", "gz", "-n", objects, "--show-labels", "-o", "wide"),
                 ("get", "namespace", objects, "default", "-o",
                  "custom-columns=N:.metadata.name,F:.spec.finalizers[*],GONE:.no.such")):
        ours = cli(*args)
        assert ours.code == 0, ours.err
        assert ours.out.splitlines() == [line.rstrip() for line in kubectl(*args).splitlines()]
    assert cli("get", "gizmos", "-n", objects).out.splitlines() == [
        "NAME   SIZE    REPLICAS", "g1     small   2", "g2     large"]


def test_a_missing_name_fails_alone(cli: Callable[..., Run], kubectl: Callable[..., str], objects: str) -> None:
    for output in ((), ("-o", "name")):
        ours = cli("get", "gz", "g1", "nope", "g2", "-n", objects, *output)
        assert ours.code == 1
        assert one_error_line(ours) == 'Error from server (NotFound): gizmos.fixtures.dynkube.io "nope" not found'
        assert [line.split()[0] for line in ours.out.splitlines()][-2:] == (
            ["g1", "g2"] if not output else ["gizmo.fixtures.dynkube.io/g1", "gizmo.fixtures.dynkube.io/g2"])


def test_get_table_of_builtin_kind_has_server_columns(cli: Callable[..., Run], objects: str) -> None:
    ours = cli("get", "cm", "-n", objects, "-l", f"suite={objects}")
    lines = ours.out.splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    assert [line.split()[:2] for line in lines[1:]] == [["alpha", "1"], ["beta", "2"]]


def test_jsonpath_output_matches_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str], objects: str) -> None:
    templates = ['{range .items[*]}{.metadata.name}{"\\t"}{.data}{"\\n"}{end}',
                 "{.items[*].metadata.name}",
                 '{.items[?(@.metadata.name=="beta")].data.y}']
    for template in templates:
        args = ("get", "cm", "-n", objects, "-l", f"suite={objects}", "-o", f"jsonpath={template}")
        ours = cli(*args)
        assert ours.code == 0, ours.err
        assert ours.out == kubectl(*args)
    assert cli("get", "gz", "g1", "-n", objects, "-o", "jsonpath={.spec.replicas}").out == "2"


def test_all_lists_the_all_category(cli: Callable[..., Run], objects: str) -> None:
    ours = cli("get", "all", "-n", objects)
    assert ours.code == 0, ours.err
    assert "gizmo.fixtures.dynkube.io/g1" in ours.out  # Gizmo is in category "all"
    assert "configmap" not in ours.out


def test_nothing_found_says_so_on_stderr(cli: Callable[..., Run], namespace: str) -> None:
    ours = cli("get", "secrets", "-n", namespace, "-l", "no=such")
    assert (ours.code, ours.out) == (0, "")
    assert ours.err == f"No resources found in {namespace} namespace.\n"


def test_get_o_yaml_prints_what_to_yaml_writes(cli: Callable[..., Run], client: dynkube.Client,
                                               namespace: str) -> None:
    cms = client.resource("configmaps")
    cms.create({"metadata": {"name": "y"}, "data": {"port": "80", "on": "true", "text": "a\nb\n", "e": "é"}}, namespace)
    ours = cli("get", "configmap", "y", "-n", namespace, "-o", "yaml")
    fetched = cms.get("y", namespace)
    del fetched.metadata["managedFields"]  # not shown by get, as in kubectl
    assert ours.out == fetched.to_yaml()


def test_watch_prints_rows_as_changes_happen(cli: Callable[..., Run], client: dynkube.Client,
                                             namespace: str) -> None:
    cms = client.resource("configmaps")
    watching = threading.Event()  # set once the command has returned

    def change() -> None:  # keeps changing the object while the command runs: some changes come while it watches
        cms.create({"metadata": {"name": "late"}, "data": {"a": "0", "b": "2"}}, namespace)
        step = 0
        while not watching.wait(0.1):
            step += 1
            cms.patch("late", {"data": {"a": str(step)}}, namespace=namespace)

    thread = threading.Thread(target=change)
    thread.start()
    try:
        ours = cli("get", "configmaps", "-n", namespace, "--field-selector", "metadata.name=late", "--watch",
                   "--request-timeout=3")
    finally:
        watching.set()
        thread.join()
    assert ours.code == 0, ours.err
    lines = ours.out.splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    assert len(lines) >= 3, ours.out  # the first state, then at least one change seen by the watch
    assert all(line.split()[:2] == ["late", "2"] for line in lines[1:])


# ---- apply and delete ------------------------------------------------------------------------

MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
# a comment-only separator is fine
apiVersion: fixtures.dynkube.io/v1
kind: Gizmo
metadata:
  name: applied
spec:
  size: medium
  replicas: 3
---
apiVersion: v1
kind: Secret
metadata:
  name: token
stringData:
  key: value
"""


def test_apply_then_get_then_delete(cli: Callable[..., Run], kubectl: Callable[..., str], namespace: str,
                                    gizmo_crds: None, tmp_path: Path) -> None:
    manifest = tmp_path / "stack.yaml"
    manifest.write_text(MANIFEST)
    applied = cli("apply", "-f", str(manifest), "-n", namespace)
    assert applied.code == 0, applied.err
    assert applied.out.splitlines() == ["configmap/settings created", "gizmo.fixtures.dynkube.io/applied created",
                                        "secret/token created"]
    assert cli("apply", "-f", str(manifest), "-n", namespace).out.splitlines() == [
        "configmap/settings unchanged", "gizmo.fixtures.dynkube.io/applied unchanged", "secret/token unchanged"]

    listing = json.loads(kubectl("get", "-f", str(manifest), "-n", namespace, "-o", "json"))
    assert [(o["kind"], o["metadata"]["name"]) for o in listing["items"]] == [
        ("ConfigMap", "settings"), ("Gizmo", "applied"), ("Secret", "token")]
    assert listing["items"][1]["spec"] == {"size": "medium", "replicas": 3}
    args = ("get", "gizmo", "applied", "-n", namespace, "-o", "json")
    assert cli(*args).out == kubectl(*args)

    manifest.write_text(MANIFEST.replace("mode: fast", "mode: slow"))
    assert "configmap/settings configured" in cli("apply", "-f", str(manifest), "-n", namespace).out

    deleted = cli("delete", "-f", str(manifest), "-n", namespace)
    assert deleted.code == 0, deleted.err
    assert deleted.out.splitlines() == ['configmap "settings" deleted', 'gizmo.fixtures.dynkube.io "applied" deleted',
                                        'secret "token" deleted']
    assert kubectl("get", "cm,gz,secrets", "-n", namespace, "--field-selector", "metadata.name!=kube-root-ca.crt",
                   "-o", "name") == ""


def test_apply_from_stdin_with_server_dry_run(cli: Callable[..., Run], namespace: str, client: dynkube.Client,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(MANIFEST.split("---")[0]))
    ours = cli("apply", "-f", "-", "-n", namespace, "--dry-run=server")
    assert ours.out == "configmap/settings created (server dry run)\n"
    with pytest.raises(dynkube.NotFound):
        client.resource("configmaps").get("settings", namespace)


def test_apply_validate_does_not_print_secret_values(cli: Callable[..., Run], namespace: str, tmp_path: Path,
                                                     client: dynkube.Client) -> None:
    manifest = tmp_path / "secret.yaml"
    manifest.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\n"
                        "data:\n  password: hunter2-plaintext\n")
    ours = cli("apply", "-f", str(manifest), "-n", namespace, "--validate=true")
    assert ours.code != 0
    assert "data[password]: <secret> is not a 'byte'" in ours.err
    assert "hunter2" not in ours.err + ours.out
    with pytest.raises(dynkube.NotFound):
        client.resource("secrets").get("plain", namespace)


def test_delete_by_name_waits_and_cascades(cli: Callable[..., Run], client: dynkube.Client, objects: str) -> None:
    ours = cli("delete", "gizmos", "g1", "g2", "-n", objects, "--cascade=foreground", "--timeout=30s")
    assert ours.code == 0, ours.err
    assert ours.out.splitlines() == ['gizmo.fixtures.dynkube.io "g1" deleted',
                                     'gizmo.fixtures.dynkube.io "g2" deleted']
    assert list(client.resource("gizmos").list(objects)) == []  # --wait (the default): gone when it returns
    missing = cli("delete", "cm/nope", "-n", objects)
    assert missing.code == 1
    assert one_error_line(missing) == 'Error from server (NotFound): configmaps "nope" not found'
    assert cli("delete", "cm/nope", "-n", objects, "--ignore-not-found").code == 0


def test_explain_is_kubectls(cli: Callable[..., Run], kubectl: Callable[..., str], gizmo_crds: None) -> None:
    for path in ("gizmos.spec", "deployment.spec.strategy"):
        assert cli("explain", path).out == kubectl("explain", path)


def test_tree_counts_objects_per_resource(cli: Callable[..., Run], objects: str) -> None:
    ours = cli("tree", "--count", "-n", objects, "--api-group=fixtures.dynkube.io", "-o", "json")
    assert ours.code == 0, ours.err
    [group] = json.loads(ours.out)["items"]
    assert group["group"] == "fixtures.dynkube.io" and group["versions"] == ["v1", "v1beta1"]
    counts = {r["name"]: r["count"] for r in group["resources"]}
    assert counts["gizmos"] == 2
    text = cli("tree", "--count", "-n", objects)
    assert text.code == 0
    assert "fixtures.dynkube.io (v1; also v1beta1)" in text.out
    core = text.out.split("\n", 1)[0]
    assert core == "core (v1)"
    assert any(line.split()[1:] == ["gizmos", "(gz)", "Gizmo", "namespaced", "2"] for line in text.out.splitlines())



def test_tree_count_lists_only_metadata(client: dynkube.Client, objects: str) -> None:
    asked: list[dict[str, object]] = []

    class Observed(dynkube.ResourceClient):  # the real client, its list calls' arguments noted
        def list_page(self, *args: Any, **kwargs: Any) -> dynkube.ApiList:
            asked.append(kwargs)
            return super().list_page(*args, **kwargs)

    dynkube.wait_for(client.resource("configmaps"), "kube-root-ca.crt", objects, condition="create", timeout=60)
    for plural, expected in (("configmaps", 3), ("gizmos", 2)):  # kube-root-ca.crt is the third configmap
        rc = Observed(client, client.resource(plural).resource)
        assert count_objects(rc, objects) == expected
    assert asked and all(kwargs.get("metadata_only") is True for kwargs in asked)

# ---- bad input: one line on stderr, the right exit code --------------------------------------

def test_unknown_resource_suggests_close_names(cli: Callable[..., Run], gizmo_crds: None) -> None:
    ours = cli("get", "gizmoz")
    assert ours.code == 1
    line = one_error_line(ours)
    assert "gizmoz" in line and "did you mean" in line and "gizmos" in line


def test_missing_manifest_file(cli: Callable[..., Run], tmp_path: Path) -> None:
    ours = cli("apply", "-f", str(tmp_path / "nope.yaml"))
    assert ours.code == 1
    assert "nope.yaml" in one_error_line(ours) and "does not exist" in ours.err


def test_invalid_yaml_names_the_document(cli: Callable[..., Run], namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "broken.yaml"
    manifest.write_text(MANIFEST.split("---")[0] + "---\nkind: ConfigMap\nmetadata: {name: [oops\n")
    ours = cli("apply", "-f", str(manifest), "-n", namespace)
    assert ours.code == 1
    assert ours.out == "configmap/settings created\n"  # the good document is applied all the same
    failures = [line for line in ours.err.splitlines() if "failed" in line and "document" in line]
    assert len(failures) == 1 and "broken.yaml document 2" in failures[0] and "invalid YAML" in failures[0]
    deleted = cli("delete", "-f", str(manifest), "-n", namespace)
    assert deleted.code == 1 and deleted.out == 'configmap "settings" deleted\n'
    assert "broken.yaml document 2: invalid YAML" in one_error_line(deleted)


def test_forbidden_namespace(cli: Callable[..., Run], namespace: str) -> None:
    ours = cli("--context", "envtest-nobody", "get", "configmaps", "-n", namespace)
    assert ours.code == 1
    line = one_error_line(ours)
    assert line.startswith("Error from server (Forbidden): configmaps is forbidden")
    assert namespace in line


def test_no_cluster_reachable(cli: Callable[..., Run], tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "secret-token-value"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "u"}}]}))
    ours = cli("get", "pods", kubeconfig=kubeconfig)
    assert ours.code == 1
    line = one_error_line(ours)
    assert "unable to connect to the server" in line and "127.0.0.1:1" in line
    assert "secret-token-value" not in line


def test_bad_usage_exits_2(cli: Callable[..., Run]) -> None:
    for argv in (("get",), ("get", "pods", "-o", "bogus"), ("frobnicate",), ("apply",), ("delete", "pods"),
                 ("get", "pods", "-o", "jsonpath={.items[0,1]}")):
        ours = cli(*argv)
        assert ours.code == 2, argv
        assert one_error_line(ours).startswith("error: ")


# ---- the installed script --------------------------------------------------------------------

def test_installed_script_entry_point_and_exit_codes(kubeconfig_path: Path, cache_root: Path,
                                                     gizmo_crds: None) -> None:
    env = {"KUBECACHEDIR": str(cache_root), "PATH": "/usr/bin:/bin"}

    def script(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(SCRIPT), "--kubeconfig", str(kubeconfig_path), *argv], capture_output=True,
                              text=True, env=env, timeout=60)

    ok = script("get", "namespace", "default", "-o", "name")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "namespace/default\n", "")
    unknown = script("get", "gizmoz")
    assert unknown.returncode == 1 and len(unknown.stderr.splitlines()) == 1 and "Traceback" not in unknown.stderr
    usage = script("get", "--no-such-flag")
    assert usage.returncode == 2 and len(usage.stderr.splitlines()) == 1
    debug = script("--debug", "get", "gizmoz")
    assert debug.returncode == 1 and "Traceback" in debug.stderr



def test_tree_count_shows_its_progress_on_a_terminal(kubeconfig_path: Path, cache_root: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out, err = io.StringIO(), Terminal()
    monkeypatch.setenv("KUBECACHEDIR", str(cache_root))
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["--kubeconfig", str(kubeconfig_path), "tree", "--count", "--api-group=apps"]) == 0
    assert "/5] counted" in err.getvalue() and err.getvalue().endswith("\r\x1b[K")
    assert "objects in all namespaces" in out.getvalue()
