"""``dynkube completion bash`` run in a real bash: the script's completion function, called as bash calls
it, offers commands and flags from the parser, resource types from the resource map and object names,
contexts and namespaces from the cluster and its kubeconfig."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import dynkube

from .test_cli import SCRIPT, Run, cli  # noqa: F401  (fixtures)


@pytest.fixture
def complete(kubeconfig_path: Path, cache_root: Path) -> Callable[..., list[str]]:
    """The candidates bash gets for a command line whose last word is being completed."""
    env = {**os.environ, "PATH": f"{SCRIPT.parent}{os.pathsep}{os.environ['PATH']}", "KUBECONFIG": str(kubeconfig_path),
           "KUBECACHEDIR": str(cache_root)}
    script = subprocess.run([str(SCRIPT), "completion", "bash"], capture_output=True, text=True, check=True,
                            env=env, timeout=60).stdout

    def run(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in ("dynkube", *words))
        program = (f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words)}; _dynkube; "
                   'printf "%s\\n" "${COMPREPLY[@]}"')
        done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                              env=env, timeout=60)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return [w for w in done.stdout.splitlines() if w]

    return run


def test_commands_and_subcommands(complete: Callable[..., list[str]]) -> None:
    commands = complete("")
    assert {"get", "apply", "delete", "create", "edit", "config", "auth", "completion"} <= set(commands)
    assert "__complete" not in commands
    assert set(complete("ap")) == {"apply", "api-resources", "api-versions"}
    assert set(complete("config", "")) == {"get-contexts", "current-context", "use-context", "set-context", "view"}
    assert set(complete("create", "secret", "")) == {"generic", "tls", "docker-registry"}


def test_flags_and_their_choices(complete: Callable[..., list[str]]) -> None:
    assert complete("get", "--wat") == ["--watch", "--watch-only"]
    assert "--all-namespaces" in complete("get", "--al")
    assert complete("delete", "--cascade", "=", "fo") == ["foreground"]  # bash's words for --cascade=fo
    assert complete("api-resources", "--output", "=", "ya") == ["yaml"]
    assert "configmaps" in complete("delete", "--cascade", "conf")  # a bare --cascade takes no value, as kubectl's
    assert complete("completion", "") == ["bash", "fish", "zsh"]


def test_resource_types_from_the_resource_map(complete: Callable[..., list[str]], client: dynkube.Client,
                                              gizmo_crds: None) -> None:
    client.api_map()  # a warm discovery cache, as after any command
    assert complete("get", "gizm") == ["gizmo", "gizmos", "gizmos.fixtures.dynkube.io"]
    assert {"deployments", "deploy", "deployment", "deployments.apps"} <= set(complete("get", "dep"))
    assert complete("explain", "configm") == ["configmap", "configmaps"]


def test_object_names_on_demand(complete: Callable[..., list[str]], client: dynkube.Client, namespace: str) -> None:
    for name in ("web-a", "web-b", "db"):
        client.resource("configmaps").create({"metadata": {"name": name}}, namespace)
    assert complete("get", "configmaps", "-n", namespace, "web") == ["web-a", "web-b"]
    assert complete("-n", namespace, "delete", "cm", "d") == ["db"]
    assert namespace in complete("get", "cm", "-n", namespace[:4])


def test_contexts_from_the_kubeconfig(complete: Callable[..., list[str]]) -> None:
    assert complete("config", "use-context", "envtest-") == ["envtest-nobody", "envtest-token"]
    assert complete("--context", "envtest-n") == ["envtest-nobody"]


def test_no_candidates_and_no_error_when_the_cluster_cannot_answer(complete: Callable[..., list[str]]) -> None:
    assert complete("--kubeconfig", "/nonexistent", "get", "cm", "") == []
    assert complete("get", "nosuchtype", "") == []


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_ask_the_same_command(cli: Callable[..., Run], shell: str) -> None:
    script = cli("completion", shell)
    assert script.code == 0 and "dynkube __complete" in script.out


def test_complete_prints_candidates(cli: Callable[..., Run]) -> None:
    assert cli("__complete", "get", "--watch-o").out == "--watch-only\n"
