"""``dynkube.access`` and ``dynkube auth`` against the real server, each command beside kubectl's on the
same contexts (an admin by certificate, an admin by token, a user with no rights)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import dynkube
from dynkube import access

from .test_cli import Run, cli, one_error_line  # noqa: F401  (fixtures)

CONTEXTS = ("envtest", "envtest-token", "envtest-nobody")


def kubectl_run(kubeconfig: Path, *argv: str) -> Run:
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *argv], capture_output=True, text=True,
                          timeout=60)
    return Run(done.returncode, done.stdout, done.stderr)


def test_whoami_tells_the_identity(kubeconfig_path: Path) -> None:
    with dynkube.Client(kubeconfig=kubeconfig_path, context="envtest-token") as token:
        identity = access.whoami(token)
    assert (identity.username, identity.uid) == ("admin", "admin-uid")
    assert "system:masters" in identity.groups
    assert identity.review["kind"] == "SelfSubjectReview"


def test_can_i_asks_about_resolved_resources(client: dynkube.Client, kubeconfig_path: Path, namespace: str) -> None:
    decision = access.can_i(client, "list", "deploy", namespace=namespace)
    assert decision.allowed
    assert decision.attributes == {"namespace": namespace, "verb": "list", "group": "apps", "resource": "deployments"}
    with dynkube.Client(kubeconfig=kubeconfig_path, context="envtest-nobody") as nobody:
        assert not access.can_i(nobody, "get", "configmaps/x", namespace=namespace).allowed
        assert access.can_i(nobody, "get", "/healthz").allowed
        assert access.can_i(nobody, "create", "selfsubjectaccessreviews").allowed


def test_can_i_resolves_a_crd_created_a_moment_ago(client: dynkube.Client, crd_factory: Callable[..., str]) -> None:
    kind = crd_factory()
    suffix = kind.removeprefix("Thing")
    decision = access.can_i(client, "list", kind.lower())  # its singular name, resolved through discovery
    assert decision.allowed
    assert (decision.attributes["group"], decision.attributes["resource"]) == (f"t{suffix}.example.com",
                                                                               f"things{suffix}")


def test_rules_list_what_the_user_may_do(kubeconfig_path: Path) -> None:
    with dynkube.Client(kubeconfig=kubeconfig_path, context="envtest-nobody") as nobody:
        review = access.rules(nobody)
    verbs = {v for r in review.resource_rules if "selfsubjectreviews" in r["resources"] for v in r["verbs"]}
    assert verbs == {"create"}
    assert any("/healthz" in r["nonResourceURLs"] for r in review.non_resource_rules)


def test_bad_can_i_arguments_are_refused_before_asking() -> None:
    with dynkube.Client(dynkube.Config(server="http://127.0.0.1:1")) as unreachable:
        with pytest.raises(dynkube.InvalidInput, match="non-resource URL takes no name"):
            access.can_i(unreachable, "get", "/logs", subresource="x")
        with pytest.raises(dynkube.InvalidInput, match="verb must be a non-empty string"):
            access.can_i(unreachable, "", "pods")
        with pytest.raises(dynkube.InvalidInput, match="give the name once"):
            access.can_i(unreachable, "get", "pods/a", "b")


# ---- the command line, beside kubectl -------------------------------------------------------------

@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("argv", [
    ["auth", "whoami"],
    ["auth", "can-i", "list", "pods"],
    ["auth", "can-i", "create", "deployments.apps", "-A"],
    ["auth", "can-i", "get", "pods/web", "--subresource=log"],
    ["auth", "can-i", "*", "*"],
    ["auth", "can-i", "get", "/logs"],
    ["auth", "can-i", "list", "gizmos"],
    ["auth", "can-i", "--list"],
    ["auth", "can-i", "--list", "-n", "kube-system", "--no-headers"],
])
def test_auth_is_kubectls(cli: Callable[..., Run], kubeconfig_path: Path, gizmo_crds: None, context: str,
                          argv: list[str]) -> None:
    ours = cli("--context", context, *argv)
    theirs = kubectl_run(kubeconfig_path, "--context", context, *argv)
    assert (ours.code, ours.out) == (theirs.code, theirs.out)
    assert ours.err == theirs.err == ""


def test_can_i_quiet_and_unknown_resource(cli: Callable[..., Run], kubeconfig_path: Path) -> None:
    quiet = cli("--context", "envtest-nobody", "auth", "can-i", "list", "pods", "-q")
    assert (quiet.code, quiet.out) == (1, "")
    unknown = cli("auth", "can-i", "list", "nosuch")
    reference = kubectl_run(kubeconfig_path, "auth", "can-i", "list", "nosuch")
    assert (unknown.code, unknown.out) == (reference.code, reference.out)
    assert one_error_line(unknown).lower() == reference.err.strip().lower()  # the same warning


def test_whoami_json_is_the_review(cli: Callable[..., Run]) -> None:
    import json

    shown = json.loads(cli("--context", "envtest-token", "auth", "whoami", "-o", "json").out)
    assert shown["kind"] == "SelfSubjectReview" and shown["status"]["userInfo"]["uid"] == "admin-uid"


@pytest.mark.parametrize("argv", [["auth"], ["auth", "can-i"], ["auth", "can-i", "list"],
                                  ["auth", "can-i", "--list", "get"], ["auth", "can-i", "get", "pods", "--no-headers"],
                                  ["auth", "can-i", "get", "/logs", "--subresource=x"]])
def test_bad_auth_usage_is_one_line(cli: Callable[..., Run], argv: list[str]) -> None:
    run = cli(*argv)
    assert run.code in (1, 2) and one_error_line(run).startswith("error: ")
