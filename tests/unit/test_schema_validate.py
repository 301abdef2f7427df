"""Client-side validation of built-in kinds against the recorded Kubernetes 1.35 OpenAPI v3 documents."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from dynkube import errors
from dynkube.schema import ValidationIssue

from .test_schema_support import builtin_store


def deployment(**spec: Any) -> dict[str, Any]:
    container = {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                 "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": 0.1}}}
    obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}},
    }
    obj["spec"].update(spec)
    return obj


def container(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]["containers"][0]


def issues(obj: dict[str, Any], *, strict: bool = False) -> list[str]:
    return [str(i) for i in builtin_store().validate_object(obj, strict=strict)]


def test_valid_deployment_has_no_issues_in_either_mode():
    assert issues(deployment()) == []
    assert issues(deployment(), strict=True) == []


def test_wrong_type_is_reported_with_its_json_path():
    obj = deployment()
    container(obj)["ports"][0]["containerPort"] = "eighty"
    assert issues(obj) == ["spec.template.spec.containers[0].ports[0].containerPort: 'eighty' is not of type 'integer'"]


def test_issue_carries_path_message_and_keyword():
    obj = deployment(replicas="three")
    (issue,) = builtin_store().validate(obj, "apps", "v1", "Deployment")
    assert issue == ValidationIssue("spec.replicas", "'three' is not of type 'integer'", "type")
    assert str(issue) == "spec.replicas: 'three' is not of type 'integer'"


def test_missing_required_field_names_the_field():
    obj = deployment()
    del obj["spec"]["selector"]
    del container(obj)["name"]
    assert issues(obj) == ["spec.selector: Required value", "spec.template.spec.containers[0].name: Required value"]


def test_null_fields_count_as_unset_like_on_the_server():
    obj = deployment(replicas=None, paused=None)  # as Helm renders `replicas:` with no value
    obj["metadata"]["creationTimestamp"] = None
    assert issues(obj, strict=True) == []


def test_null_required_field_is_missing():
    assert issues(deployment(selector=None)) == ["spec.selector: Required value"]


def test_int32_range_is_checked():
    assert issues(deployment(replicas=2**31)) == ["spec.replicas: 2147483648 is greater than the maximum of 2147483647"]


def test_boolean_is_not_an_integer():
    assert issues(deployment(replicas=True)) == ["spec.replicas: True is not of type 'integer'"]


def test_map_keys_are_bracketed_in_paths():
    obj = deployment()
    obj["metadata"]["labels"]["app.kubernetes.io/name"] = 3
    assert issues(obj) == ["metadata.labels[app.kubernetes.io/name]: 3 is not of type 'string'"]


@pytest.mark.parametrize("value", ["25%", 1, "1"])
def test_int_or_string_accepts_integers_and_strings(value):
    obj = deployment()
    obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = value
    assert issues(obj) == []


@pytest.mark.parametrize("value", [1.5, True, ["1"]])
def test_int_or_string_rejects_other_types(value):
    obj = deployment()
    obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = value
    assert issues(obj) == [f"spec.strategy.rollingUpdate.maxSurge: {value!r} is not of type 'integer', 'string'"]


@pytest.mark.parametrize("value", ["128Mi", "1Gi", "500m", "1e3", "0.5", ".5", "+1k", "10n", 2, 0.25])
def test_quantities_the_server_parses_are_accepted(value):
    obj = deployment()
    container(obj)["resources"]["limits"]["memory"] = value
    assert issues(obj) == []


@pytest.mark.parametrize("value", ["1GB", "abc", "1 Gi", "", "1.2.3"])
def test_malformed_quantities_are_rejected(value):
    obj = deployment()
    container(obj)["resources"]["limits"]["memory"] = value
    assert issues(obj) == [f"spec.template.spec.containers[0].resources.limits[memory]: {value!r} is not a 'quantity'"]


def test_date_time_format_is_checked():
    obj = deployment()
    obj["metadata"]["creationTimestamp"] = "yesterday"
    assert issues(obj) == ["metadata.creationTimestamp: 'yesterday' is not a 'date-time'"]
    obj["metadata"]["creationTimestamp"] = "2026-01-02T03:04:05Z"
    assert issues(obj) == []


def test_unknown_field_is_an_error_only_in_strict_mode_with_a_suggestion():
    obj = deployment()
    obj["spec"]["replica"] = 3
    (issue,) = builtin_store().validate_object(obj, strict=True)
    assert issue.path == "spec.replica"
    assert issue.keyword == "unknown-field"
    assert str(issue) == 'spec.replica: unknown field "replica"; did you mean "replicas"?'


def test_unknown_field_in_default_mode_passes_and_is_logged_as_a_warning(caplog):
    obj = deployment()
    container(obj)["imagePullPolicyy"] = "Always"
    with caplog.at_level(logging.WARNING, logger="dynkube.schema"):
        assert issues(obj) == []
    assert 'spec.template.spec.containers[0].imagePullPolicyy: unknown field "imagePullPolicyy"' in caplog.text


def test_unknown_fields_below_an_unknown_field_are_not_reported_twice():
    obj = deployment()
    obj["spec"]["extra"] = {"a": {"b": 1}}
    assert issues(obj, strict=True) == ['spec.extra: unknown field "extra"']


def test_objects_without_declared_properties_stay_open_in_strict_mode():
    obj = deployment()
    obj["metadata"]["managedFields"] = [{"manager": "x", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    assert issues(obj, strict=True) == []


def test_several_problems_are_all_reported():
    obj = deployment(replicas="x", paused="no")
    del obj["spec"]["template"]
    assert len(issues(obj)) == 3


def test_valid_configmap():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
          "data": {"a": "1", "b.txt": "x"}, "binaryData": {"bin": "aGVsbG8="}, "immutable": True}
    assert issues(cm, strict=True) == []


def test_invalid_configmap():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
          "data": {"port": 8080}, "binaryData": {"bin": "not base64!"}, "immutable": "yes"}
    assert issues(cm) == [
        "binaryData[bin]: 'not base64!' is not a 'byte'",
        "data[port]: 8080 is not of type 'string'",
        "immutable: 'yes' is not of type 'boolean'",
    ]


def cronjob() -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid",
                 "jobTemplate": {"spec": {"backoffLimit": 2, "template": {"spec": {
                     "restartPolicy": "OnFailure",
                     "containers": [{"name": "tick", "image": "busybox", "args": ["date"]}]}}}}},
    }


def test_valid_cronjob():
    assert issues(cronjob(), strict=True) == []


def test_invalid_cronjob_reports_deeply_nested_paths():
    obj = cronjob()
    del obj["spec"]["schedule"]
    job = obj["spec"]["jobTemplate"]["spec"]
    job["backoffLimit"] = "two"
    job["template"]["spec"]["containers"][0]["args"] = "date"
    assert issues(obj) == [
        "spec.jobTemplate.spec.backoffLimit: 'two' is not of type 'integer'",
        "spec.jobTemplate.spec.template.spec.containers[0].args: 'date' is not of type 'array'",
        "spec.schedule: Required value",
    ]


def test_validate_reuses_the_compiled_schema():
    store = builtin_store()
    assert store.json_schema("apps", "v1", "Deployment") is store.json_schema("apps", "v1", "Deployment")


def test_validation_does_not_modify_the_object():
    obj = deployment(replicas=None)
    before = copy.deepcopy(obj)
    issues(obj, strict=True)
    assert obj == before


def test_object_without_apiversion_or_kind_is_invalid_input():
    with pytest.raises(errors.InvalidInput, match="apiVersion and kind"):
        builtin_store().validate_object({"kind": "Deployment", "spec": {}})


def test_non_mapping_is_invalid_input():
    with pytest.raises(errors.InvalidInput):
        builtin_store().validate(["not", "an", "object"], "apps", "v1", "Deployment")


def test_unknown_kind_suggests_close_kinds():
    with pytest.raises(errors.SchemaUnavailable, match="did you mean Deployment"):
        builtin_store().validate({}, "apps", "v1", "Deploymnet")


def test_unknown_group_version_is_schema_unavailable():
    with pytest.raises(errors.SchemaUnavailable, match="apis/apps/v2"):
        builtin_store().validate({}, "apps", "v2", "Deployment")


# ---- secrets are never quoted ------------------------------------------------------------------------------


def test_values_of_a_secret_are_not_quoted():
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
           "data": {"password": "hunter2-plaintext"}, "stringData": {"token": 12345}, "type": 7}
    found = issues(obj)
    assert found == ["data[password]: <secret> is not a 'byte'", "stringData[token]: <secret> is not of type 'string'",
                     "type: <secret> is not of type 'string'"]
    assert not any("hunter2" in text or "12345" in text for text in found)


def test_other_kinds_still_quote_the_value():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "binaryData": {"b": "not base64!"}}
    assert issues(obj) == ["binaryData[b]: 'not base64!' is not a 'byte'"]
