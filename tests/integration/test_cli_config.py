"""``dynkube config ...`` beside ``kubectl config ...`` on the same multi-file KUBECONFIG, made from the test
cluster's kubeconfig: the same views, the same files chosen for each write, the user's comments kept, and
a context switched to is the one the next command uses on the real server."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dynkube.cli import main

from .test_cli import Run, one_error_line

CLUSTERS_HEADER = "# clusters and users of the test cluster (a comment the edits must keep)\n"


@pytest.fixture
def kubeconfigs(kubeconfig_path: Path, tmp_path: Path) -> Callable[[str], list[Path]]:
    """Two kubeconfig files in a fresh directory: clusters.yaml (clusters, users) and contexts.yaml
    (contexts, current-context), in YAML with comments; returns their paths."""
    source = yaml.safe_load(kubeconfig_path.read_text())

    def make(name: str) -> list[Path]:
        directory = tmp_path / name
        while directory.exists():
            directory = directory.with_name(directory.name + "+")
        directory.mkdir()
        clusters, contexts = directory / "clusters.yaml", directory / "contexts.yaml"
        clusters.write_text(CLUSTERS_HEADER + yaml.safe_dump(
            {"apiVersion": "v1", "kind": "Config", "clusters": source["clusters"], "users": source["users"]},
            sort_keys=False))
        contexts.write_text("apiVersion: v1\nkind: Config\n# the contexts (order kept)\ncontexts:\n"
                            + "".join(f"- name: {c['name']}  # {c['context']['user']}\n  context:\n"
                                      f"    cluster: {c['context']['cluster']}\n    user: {c['context']['user']}\n"
                                      for c in source["contexts"])
                            + f"current-context: {source['current-context']}\n# trailing comment\n")
        return [clusters, contexts]

    return make


def listed(paths: list[Path]) -> str:
    return os.pathsep.join(str(p) for p in paths)


@pytest.fixture
def ours(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
         cache_root: Path) -> Callable[..., Run]:
    """``dynkube ARGS`` in-process with KUBECONFIG set to the given files."""
    monkeypatch.setenv("KUBECACHEDIR", str(cache_root))

    def run(paths: list[Path], *argv: str) -> Run:
        monkeypatch.setenv("KUBECONFIG", listed(paths))
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def theirs(paths: list[Path], *argv: str) -> Run:
    """``kubectl ARGS`` with KUBECONFIG set to the given files."""
    if not shutil.which("kubectl"):
        pytest.fail("kubectl is needed on PATH as the reference of the CLI tests", pytrace=False)
    done = subprocess.run(["kubectl", *argv], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KUBECONFIG": listed(paths)})
    return Run(done.returncode, done.stdout, done.stderr)


def secrets_of(kubeconfig_path: Path) -> list[str]:
    users = yaml.safe_load(kubeconfig_path.read_text())["users"]
    return [value for user in users for key, value in user["user"].items() if key.endswith("-data") or key == "token"]


# ---- reading --------------------------------------------------------------------------------------

@pytest.mark.parametrize("flags", [[], ["--minify"], ["--raw"], ["--minify", "--raw"], ["--context", "envtest-token",
                                                                                         "--minify"]])
def test_config_view_is_kubectls(ours: Callable[..., Run], kubeconfigs: Callable[[str], list[Path]],
                                 flags: list[str]) -> None:
    files = kubeconfigs("a")
    mine = ours(files, "config", "view", *flags)
    assert mine.code == 0, mine.err
    assert mine.out == theirs(files, "config", "view", *flags).out


def test_config_view_flatten_raw_is_kubectls_flatten(ours: Callable[..., Run], kubeconfig_path: Path,
                                                     kubeconfigs: Callable[[str], list[Path]]) -> None:
    files = kubeconfigs("a")
    ca = base64.b64decode(yaml.safe_load(files[0].read_text())["clusters"][0]["cluster"]["certificate-authority-data"])
    (files[0].parent / "ca.crt").write_bytes(ca)
    document = yaml.safe_load(files[0].read_text())
    document["clusters"][0]["cluster"].pop("certificate-authority-data")
    document["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"  # relative to its file
    files[0].write_text(yaml.safe_dump(document))
    mine = ours(files, "config", "view", "--flatten", "--raw")
    assert mine.code == 0, mine.err
    assert mine.out == theirs(files, "config", "view", "--flatten").out
    assert "DATA+OMITTED" in ours(files, "config", "view", "--flatten").out  # no secret without --raw


def test_config_view_redacts_every_secret_unless_raw(ours: Callable[..., Run], kubeconfig_path: Path,
                                                     kubeconfigs: Callable[[str], list[Path]]) -> None:
    files = kubeconfigs("a")
    secrets = secrets_of(kubeconfig_path)
    assert len(secrets) >= 3
    for output in ("yaml", "json"):
        shown = ours(files, "config", "view", "-o", output).out
        assert not [s for s in secrets if s in shown]
        assert "DATA+OMITTED" in shown and "REDACTED" in shown
    raw = ours(files, "config", "view", "--raw").out
    assert all(s in raw for s in secrets)


def test_config_view_json_and_jsonpath_are_kubectls(ours: Callable[..., Run],
                                                    kubeconfigs: Callable[[str], list[Path]]) -> None:
    files = kubeconfigs("a")
    assert json.loads(ours(files, "config", "view", "-o", "json").out) == \
        json.loads(theirs(files, "config", "view", "-o", "json").out)
    template = "jsonpath={range .contexts[*]}{.name}={.context.user}{'\\n'}{end}"
    assert ours(files, "config", "view", "-o", template).out == theirs(files, "config", "view", "-o", template).out


def test_get_contexts_and_current_context_are_kubectls(ours: Callable[..., Run],
                                                       kubeconfigs: Callable[[str], list[Path]]) -> None:
    files = kubeconfigs("a")
    for argv in (["get-contexts"], ["get-contexts", "-o", "name"], ["get-contexts", "--no-headers", "envtest-token"],
                 ["current-context"]):
        mine, reference = ours(files, "config", *argv), theirs(files, "config", *argv)
        assert mine.code == reference.code == 0, mine.err
        assert [line.rstrip() for line in mine.out.splitlines()] == \
            [line.rstrip() for line in reference.out.splitlines()]


def test_unknown_context_in_get_contexts_fails_like_kubectl(ours: Callable[..., Run],
                                                            kubeconfigs: Callable[[str], list[Path]]) -> None:
    files = kubeconfigs("a")
    mine, reference = ours(files, "config", "get-contexts", "nope"), theirs(files, "config", "get-contexts", "nope")
    assert mine.code == reference.code == 1
    assert one_error_line(mine) == reference.err.strip() == "error: context nope not found"


# ---- writing --------------------------------------------------------------------------------------

def views_after(ours: Callable[..., Run], kubeconfigs: Callable[[str], list[Path]],
                *argv: str) -> tuple[list[Path], list[Path], Run]:
    """The same command by dynkube on one copy of the files and by kubectl on another."""
    mine, reference = kubeconfigs("mine"), kubeconfigs("kubectl")
    run = ours(mine, "config", *argv)
    done = theirs(reference, "config", *argv)
    assert (run.code, run.out) == (done.code, done.out), (run.err, done.err)
    return mine, reference, run


def assert_same_documents(mine: list[Path], reference: list[Path]) -> None:
    """Each of our files reads as kubectl's (kubectl rewrites the whole file; we change what was asked)."""
    for ours_file, their_file in zip(mine, reference):
        ours_doc, their_doc = yaml.safe_load(ours_file.read_text()), yaml.safe_load(their_file.read_text())
        their_doc.pop("preferences", None)
        for key in ("current-context", "clusters", "users", "contexts"):
            if not their_doc.get(key):
                their_doc.pop(key, None)
        assert by_name(ours_doc) == by_name(their_doc), ours_file.name


def by_name(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its sections in name order (kubectl sorts them when it rewrites a file)."""
    sections = {key: sorted(document[key], key=lambda entry: entry["name"])
                for key in ("clusters", "users", "contexts") if key in document}
    return {**document, **sections}


def test_use_context_writes_where_kubectl_does_and_keeps_the_files(
        ours: Callable[..., Run], kubeconfigs: Callable[[str], list[Path]]) -> None:
    before = [p.read_text() for p in kubeconfigs("before")]
    mine, reference, run = views_after(ours, kubeconfigs, "use-context", "envtest-token")
    assert run.out == 'Switched to context "envtest-token".\n'
    assert_same_documents(mine, reference)
    assert mine[0].read_text() == before[0] + "current-context: envtest-token\n"  # kubectl: the first file
    assert mine[1].read_text() == before[1]
    assert ours(mine, "config", "current-context").out == "envtest-token\n"


def test_set_context_namespace_edits_the_defining_file_in_place(
        ours: Callable[..., Run], kubeconfigs: Callable[[str], list[Path]]) -> None:
    before = [p.read_text() for p in kubeconfigs("before")]
    mine, reference, run = views_after(ours, kubeconfigs, "set-context", "envtest-token", "--namespace=web")
    assert run.out == 'Context "envtest-token" modified.\n'
    assert_same_documents(mine, reference)
    assert mine[0].read_text() == before[0]
    expected = before[1].replace("    user: admin-token\n", "    user: admin-token\n    namespace: web\n")
    assert mine[1].read_text() == expected  # comments, order and layout kept
    changed = views_after(ours, kubeconfigs, "set-context", "envtest-token", "--namespace=web")[0]
    assert ours(changed, "config", "set-context", "envtest-token", "--namespace=db").code == 0
    assert changed[1].read_text() == expected.replace("namespace: web", "namespace: db")


def test_set_context_current_and_new_contexts_go_where_kubectl_puts_them(
        ours: Callable[..., Run], kubeconfigs: Callable[[str], list[Path]]) -> None:
    mine, reference, _ = views_after(ours, kubeconfigs, "set-context", "--current", "--namespace=kube-system")
    assert_same_documents(mine, reference)
    mine, reference, run = views_after(ours, kubeconfigs, "set-context", "added", "--cluster=envtest",
                                       "--user=nobody", "--namespace=web")
    assert run.out == 'Context "added" created.\n'
    assert_same_documents(mine, reference)  # in the first file, as kubectl
    assert mine[0].read_text().startswith(CLUSTERS_HEADER)


def test_a_switched_context_is_used_by_the_next_command(ours: Callable[..., Run], namespace: str,
                                                        kubeconfigs: Callable[[str], list[Path]]) -> None:
    files = kubeconfigs("a")
    assert ours(files, "config", "set-context", "envtest-nobody", f"--namespace={namespace}").code == 0
    assert ours(files, "config", "use-context", "envtest-nobody").code == 0
    denied = ours(files, "get", "configmaps")
    assert denied.code == 1
    assert one_error_line(denied).startswith("Error from server (Forbidden)")
    assert f'in the namespace "{namespace}"' in denied.err
    assert ours(files, "config", "use-context", "envtest").code == 0
    assert ours(files, "get", "configmaps").code == 0


def test_a_json_kubeconfig_stays_json(ours: Callable[..., Run], kubeconfig_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "config.json"
    shutil.copy(kubeconfig_path, copy)
    run = ours([copy], "config", "set-context", "envtest-token", "--namespace=web")
    assert run.code == 0, run.err
    document = json.loads(copy.read_text())
    assert [c["context"].get("namespace") for c in document["contexts"] if c["name"] == "envtest-token"] == ["web"]
    assert theirs([copy], "config", "get-contexts", "envtest-token", "--no-headers").out.split()[-1] == "web"


# ---- bad input: one line, non-zero, nothing written ------------------------------------------------

@pytest.mark.parametrize("argv", [["use-context", "nope"], ["set-context", "envtest", "--current"],
                                  ["view", "-o", "xml"], ["view", "--minify", "--context", "nope"]])
def test_bad_config_commands_write_nothing(ours: Callable[..., Run], kubeconfigs: Callable[[str], list[Path]],
                                           argv: list[str]) -> None:
    files = kubeconfigs("a")
    before = [p.read_bytes() for p in files]
    run = ours(files, "config", *argv)
    assert run.code in (1, 2)
    assert one_error_line(run).startswith("error: ")
    assert theirs(files, "config", *argv).code != 0
    assert [p.read_bytes() for p in files] == before


def test_set_context_refuses_a_namespace_that_cannot_be(ours: Callable[..., Run],
                                                        kubeconfigs: Callable[[str], list[Path]]) -> None:
    """kubectl writes it, and every later command fails on it; dynkube refuses it before writing."""
    files = kubeconfigs("a")
    before = [p.read_bytes() for p in files]
    run = ours(files, "config", "set-context", "envtest", "--namespace=Not_A_Name")
    assert run.code == 1
    assert one_error_line(run) == "error: namespace 'Not_A_Name' is not a valid namespace name (a DNS-1123 label)"
    assert [p.read_bytes() for p in files] == before


def test_use_context_unknown_reads_as_kubectl(ours: Callable[..., Run],
                                              kubeconfigs: Callable[[str], list[Path]]) -> None:
    files = kubeconfigs("a")
    run = ours(files, "config", "use-context", "nope")
    assert run.code == theirs(files, "config", "use-context", "nope").code == 1
    assert one_error_line(run).startswith('error: no context exists with the name: "nope"')


def test_a_write_that_fails_midway_leaves_the_file_whole(kubeconfigs: Callable[[str], list[Path]]) -> None:
    """A write past the file size limit fails (as on a full disk): the old file stays, no temporary is left."""
    files = kubeconfigs("a")
    before = files[1].read_bytes()
    limit = len(before) + 8  # the edited file would be longer
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
            "from dynkube.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "config", "set-context", "envtest-token",
                           "--namespace=a-rather-long-namespace-name"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KUBECONFIG": listed(files)})
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot write kubeconfig {files[1]}: ") and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert files[1].read_bytes() == before
    assert sorted(p.name for p in files[1].parent.iterdir()) == ["clusters.yaml", "contexts.yaml"]
