"""ApiObject and ApiList: dict semantics, attribute access, exact round trips."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dynkube.objects import ApiList, ApiObject, wrap

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "prod", "labels": {"app.kubernetes.io/name": "web"}},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [
        {"name": "c", "image": "x", "ports": [{"containerPort": 80}]}]}}},
    "x-unknown": {"kept": True},
}


def test_is_a_dict_with_attribute_access() -> None:
    obj = ApiObject(copy.deepcopy(DEPLOYMENT))
    assert isinstance(obj, dict)
    assert obj.metadata.name == "web" and obj["spec"]["replicas"] == 2
    assert obj.spec.template.spec.containers[0].ports[0].containerPort == 80
    assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == "web"


def test_nested_writes_reach_the_same_dict() -> None:
    obj = ApiObject(copy.deepcopy(DEPLOYMENT))
    obj.metadata.labels = {"tier": "front"}
    obj.spec.template.spec.containers[0].image = "y"
    assert obj["metadata"]["labels"] == {"tier": "front"}
    assert json.loads(json.dumps(obj))["spec"]["template"]["spec"]["containers"][0]["image"] == "y"


def test_missing_fields_raise_what_python_users_expect() -> None:
    obj = ApiObject({"metadata": {}})
    with pytest.raises(AttributeError, match="status"):
        _ = obj.status
    with pytest.raises(KeyError):
        _ = obj["status"]
    assert obj.get("status", "none") == "none"
    assert getattr(obj.metadata, "labels", None) is None
    assert not hasattr(obj, "spec")


def test_a_subclass_s_own_attributes_are_not_shadowed_by_fields() -> None:
    class Named(ApiObject):
        __slots__ = ()

        @property
        def title(self) -> str:
            return "from the class"

    obj = Named({"title": "from the field", "spec": {"size": 1}})
    assert obj.title == "from the class" and obj.spec.size == 1 and type(obj.spec) is ApiObject
    with pytest.raises(AttributeError, match="Named has no field 'missing'"):
        _ = obj.missing


def test_dict_methods_are_not_shadowed() -> None:
    obj = ApiObject({"items": [1], "keys": "k"})
    assert callable(obj.items) and obj["items"] == [1]
    assert list(obj.keys()) == ["items", "keys"]


def test_delete_attribute() -> None:
    obj = ApiObject({"a": 1})
    del obj.a
    assert obj == {}
    with pytest.raises(AttributeError):
        del obj.a


def test_json_round_trip_is_exact_on_a_recorded_document() -> None:
    raw = (FIXTURES / "discovery" / "aggregated" / "apis.json").read_text()
    obj = wrap(json.loads(raw))
    _ = obj.items  # dict method, not the field
    _ = obj["items"][0]
    assert json.loads(obj.to_json()) == json.loads(raw)


def test_yaml_round_trip_keeps_unknown_fields() -> None:
    obj = ApiObject(copy.deepcopy(DEPLOYMENT))
    _ = obj.spec.template.spec.containers  # wrapped parts must dump like plain dicts
    text = obj.to_yaml()
    assert text.splitlines()[0] == "apiVersion: apps/v1"
    assert yaml.safe_load(text) == DEPLOYMENT


def test_to_yaml_writes_as_kubectl_does() -> None:
    obj = ApiObject({"kind": "ConfigMap", "data": {"port": "80", "on": "true", "empty": "", "y": "y",
                                                   "script": "a\nb\n", "name": "plain"}})
    assert obj.to_yaml() == ('data:\n  empty: ""\n  name: plain\n  "on": "true"\n  port: "80"\n'
                             '  script: |\n    a\n    b\n  "y": "y"\nkind: ConfigMap\n')  # keys sorted, Go's quoting


@pytest.mark.parametrize("dump", [yaml.safe_dump, yaml.dump], ids=["safe_dump", "dump"])
def test_pyyaml_dumps_an_object_as_a_plain_mapping(dump: Any) -> None:
    obj = ApiObject(copy.deepcopy(DEPLOYMENT))
    _ = obj.spec.template.spec.containers[0].ports  # nested ApiObjects too
    text = dump(obj)
    assert "!!python" not in text and text == dump(DEPLOYMENT)
    assert yaml.safe_dump({"objects": [obj]}) == yaml.safe_dump({"objects": [DEPLOYMENT]})


def test_the_representer_is_registered_when_yaml_is_imported_after_dynkube() -> None:
    probe = ("import sys, dynkube; assert 'yaml' not in sys.modules; import yaml; "
             "print(yaml.safe_dump(dynkube.ApiObject({'a': dynkube.ApiObject({'b': 1})})), end='')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "a:\n  b: 1\n"), done.stderr


def test_to_dict_is_plain_and_independent() -> None:
    obj = ApiObject(copy.deepcopy(DEPLOYMENT))
    _ = obj.metadata
    plain = obj.to_dict()
    assert type(plain["metadata"]) is dict
    plain["metadata"]["name"] = "other"
    assert obj.metadata.name == "web"


def test_repr_names_kind_and_object() -> None:
    assert repr(ApiObject(copy.deepcopy(DEPLOYMENT))) == "<Deployment prod/web>"
    assert repr(ApiObject({"a": 1})) == "ApiObject({'a': 1})"


def test_list_fills_item_kind_and_api_version_like_client_go() -> None:
    page = ApiList({"kind": "ConfigMapList", "apiVersion": "v1",
                    "metadata": {"resourceVersion": "42", "continue": "abc"},
                    "items": [{"metadata": {"name": "a"}},
                              {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "b"}}]})
    assert [(o.kind, o.apiVersion, o.metadata.name) for o in page] == [("ConfigMap", "v1", "a"),
                                                                       ("ConfigMap", "v1", "b")]
    assert page.resource_version == "42" and page.continue_token == "abc" and len(page) == 2
    assert page.to_dict()["items"][0] == {"metadata": {"name": "a"}, "kind": "ConfigMap", "apiVersion": "v1"}


def test_wrap_leaves_non_objects_alone() -> None:
    assert wrap([1, 2]) == [1, 2] and wrap("x") == "x"
    assert isinstance(wrap({"a": {}}), ApiObject)
