"""``dynkube wait`` (over ``dynkube.wait_for``) in kubectl's --for forms, compared with kubectl wait."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dynkube

from .test_cli import Run, cli, kubectl  # noqa: F401  (fixtures)

LABELS = {"app": "web"}
DEPLOYMENT = {"metadata": {"name": "web"}, "spec": {
    "replicas": 1, "selector": {"matchLabels": LABELS},
    "template": {"metadata": {"labels": LABELS},
                 "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}}}


def kubectl_fails(kubeconfig_path: Path, *argv: str) -> tuple[int, str]:
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig_path), *argv], capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stderr.strip()


@pytest.fixture
def thing(client: dynkube.Client, namespace: str, crd_factory: Callable[..., str]) -> str:
    """A custom resource t1 whose Ready condition is False (reason Waiting); returns its kind."""
    kind = crd_factory()
    things = client.resource(kind)
    things.create({"metadata": {"name": "t1", "labels": LABELS}, "spec": {}}, namespace)
    things.patch("t1", {"status": {"phase": "Pending", "conditions": [
        {"type": "Ready", "status": "False", "reason": "Waiting"}]}}, namespace, subresource="status")
    return kind


def test_condition_available_of_a_deployment_as_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                        client: dynkube.Client, namespace: str) -> None:
    client.resource("deployments").create(DEPLOYMENT, namespace)
    ours = cli("wait", "--for=condition=Available", "deploy/web", "-n", namespace, "--timeout=60s")
    assert (ours.code, ours.out) == (0, "deployment.apps/web condition met\n")
    assert kubectl("wait", "--for=condition=Available", "deploy/web", "-n", namespace) == ours.out


def test_jsonpath_forms_as_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str], client: dynkube.Client,
                                   namespace: str) -> None:
    client.resource("deployments").create(DEPLOYMENT, namespace)
    for condition in ("jsonpath={.status.readyReplicas}=1", "jsonpath={.status.readyReplicas}",
                      "jsonpath={.spec.template.spec.containers[0].name}=app"):
        ours = cli("wait", f"--for={condition}", "deployment", "web", "-n", namespace, "--timeout=60s")
        assert ours.code == 0, (condition, ours.err)
        assert ours.out == kubectl("wait", f"--for={condition}", "deployment", "web", "-n", namespace) == \
            "deployment.apps/web condition met\n"


def test_condition_with_a_status_on_a_custom_resource(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                      namespace: str, thing: str) -> None:
    ours = cli("wait", "--for=condition=Ready=false", thing, "--all", "-n", namespace)
    assert ours.code == 0 and ours.out == kubectl("wait", "--for=condition=Ready=false", thing, "--all", "-n",
                                                   namespace)
    assert ours.out.endswith("/t1 condition met\n")


def test_selector_and_all_wait_for_each_object(cli: Callable[..., Run], kubectl: Callable[..., str],
                                               client: dynkube.Client, namespace: str) -> None:
    cms = client.resource("configmaps")
    for name in ("a", "b"):
        cms.create({"metadata": {"name": name, "labels": LABELS}, "data": {"k": "v"}}, namespace)
    ours = cli("wait", "--for=jsonpath={.data.k}=v", "configmaps", "-l", "app=web", "-n", namespace)
    assert ours.out == kubectl("wait", "--for=jsonpath={.data.k}=v", "configmaps", "-l", "app=web", "-n",
                               namespace) == "configmap/a condition met\nconfigmap/b condition met\n"


def test_timeout_fails_as_kubectl(cli: Callable[..., Run], kubeconfig_path: Path, namespace: str,
                                  thing: str) -> None:
    args = ("wait", "--for=condition=Ready", f"{thing}/t1", "-n", namespace, "--timeout=1s")
    ours = cli(*args)
    code, err = kubectl_fails(kubeconfig_path, *args)
    assert (ours.code, ours.err.strip()) == (code, err) == (1, err)
    assert err.startswith("error: timed out waiting for the condition on ")


def test_delete_waits_for_the_object_to_go(cli: Callable[..., Run], client: dynkube.Client, namespace: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cms = client.resource("configmaps")
    cms.create({"metadata": {"name": "held", "finalizers": ["dynkube.io/test"]}}, namespace)
    cms.delete("held", namespace)
    waiting = threading.Event()
    real_wait_for = dynkube.wait_for

    def wait_for(*args: Any, **kwargs: Any) -> Any:  # the real one, telling the test it has begun
        waiting.set()
        return real_wait_for(*args, **kwargs)

    monkeypatch.setattr(dynkube, "wait_for", wait_for)
    result: list[Run] = []
    waiter = threading.Thread(target=lambda: result.append(
        cli("wait", "--for=delete", "configmap/held", "-n", namespace, "--timeout=60s")))
    waiter.start()
    assert waiting.wait(60), "the command never started waiting"
    cms.patch("held", {"metadata": {"finalizers": None}}, namespace)
    waiter.join(90)
    assert [(r.code, r.out) for r in result] == [(0, "configmap/held condition met\n")]


def test_delete_of_an_object_already_gone_is_silent_as_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                               namespace: str) -> None:
    ours = cli("wait", "--for=delete", "configmap/nope", "-n", namespace)
    assert (ours.code, ours.out) == (0, kubectl("wait", "--for=delete", "configmap/nope", "-n", namespace)) == (0, "")


def test_create_waits_for_the_object_to_exist(cli: Callable[..., Run], client: dynkube.Client,
                                              namespace: str) -> None:
    result: list[Run] = []
    waiter = threading.Thread(target=lambda: result.append(
        cli("wait", "--for=create", "configmap/later", "-n", namespace, "--timeout=60s")))
    waiter.start()
    client.resource("configmaps").create({"metadata": {"name": "later"}}, namespace)
    waiter.join(90)
    assert [(r.code, r.out) for r in result] == [(0, "configmap/later condition met\n")]


def test_bad_input(cli: Callable[..., Run], kubeconfig_path: Path, namespace: str) -> None:
    bogus = cli("wait", "--for=bogus", "cm/x", "-n", namespace)
    assert bogus.code == 2 and bogus.err.startswith("error: unrecognized condition: 'bogus'")
    no_name = cli("wait", "--for=delete", "configmaps", "-n", namespace)
    assert no_name.code == 2 and "no name was specified" in no_name.err
    for condition in ("delete", "condition=Ready"):  # nothing matching: done for delete, an error otherwise
        none = cli("wait", f"--for={condition}", "configmaps", "-l", "app=nope", "-n", namespace)
        assert (none.code, none.err.strip()) == kubectl_fails(kubeconfig_path, "wait", f"--for={condition}",
                                                              "configmaps", "-l", "app=nope", "-n", namespace)
    missing = cli("wait", "--for=condition=Ready", "pods/nope", "-n", namespace, "--timeout=0")
    assert (missing.code, missing.err.strip()) == (1, 'Error from server (NotFound): pods "nope" not found')
    bad_path = cli("wait", "--for=jsonpath={.items[*]}=x", "cm/x", "-n", namespace)
    assert bad_path.code == 1 and "unsupported JSONPath condition" in bad_path.err
    unknown = cli("wait", "--for=delete", "nosuchkind/x", "-n", namespace)
    assert unknown.code == 1 and unknown.err.strip().splitlines()[-1].startswith(
        "error: the server doesn't have a resource type 'nosuchkind'")  # after any discovery warnings


def test_wait_for_condition_status_and_field_presence(each_client: Any, each_tools: Any, namespace: str,
                                                      thing: str) -> None:
    """``dynkube.wait_for``, then ``dynkube.aio.wait_for`` over an asyncio client (the bridge)."""
    things = each_client.resource(thing)
    wait_for = each_tools.wait_for
    assert wait_for(things, "t1", namespace, condition="condition=Ready=False", timeout=5) is not None
    assert wait_for(things, "t1", namespace, condition="jsonpath={.status.phase}", timeout=5) is not None
    with pytest.raises(dynkube.WaitTimeout):
        wait_for(things, "t1", namespace, condition="jsonpath={.status.missing}", timeout=0)
    with pytest.raises(dynkube.InvalidInput, match="condition=TYPE"):
        wait_for(things, "t1", namespace, condition="condition=Ready=True=x")
