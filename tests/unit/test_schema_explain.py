"""explain: structured answers and kubectl-identical text.

Every expected text below is what ``kubectl explain`` (v1.32) printed for the same recorded documents.
"""

from __future__ import annotations

import pytest

from dynkube import errors
from dynkube.schema import explain_document

from .test_schema_support import builtin_store, crd_manifest, crd_store, document

REPLICAS = """\
GROUP:      apps
KIND:       Deployment
VERSION:    v1

FIELD: replicas <integer>


DESCRIPTION:
    Number of desired pods. This is a pointer to distinguish between explicit
    zero and not specified. Defaults to 1.
    \n
"""

CONTAINER_PORT = """\
GROUP:      batch
KIND:       CronJob
VERSION:    v1

FIELD: containerPort <integer>


DESCRIPTION:
    Number of port to expose on the pod's IP address. This must be a valid port
    number, 0 < x < 65536.
    \n
"""

DEPLOYMENT_SPEC_HEAD = """\
GROUP:      apps
KIND:       Deployment
VERSION:    v1

FIELD: spec <DeploymentSpec>


DESCRIPTION:
    Specification of the desired behavior of the Deployment.
    DeploymentSpec is the specification of the desired behavior of the
    Deployment.
    
FIELDS:
  minReadySeconds\t<integer>
    Minimum number of seconds for which a newly created pod should be ready
    without any of its container crashing, for it to be considered available.
    Defaults to 0 (pod will be considered available as soon as it is ready)

  paused\t<boolean>
    Indicates that the deployment is paused.
"""  # noqa: W293 (kubectl prints the blank line indented)

CONFIGMAP_HEAD = """\
KIND:       ConfigMap
VERSION:    v1

DESCRIPTION:
    ConfigMap holds configuration data for pods to consume.
    
FIELDS:
  apiVersion\t<string>
    APIVersion defines the versioned schema of this representation of an object.
    Servers should convert recognized schemas to the latest internal value, and
    may reject unrecognized values. More info:
    https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources

  binaryData\t<map[string]string>
"""  # noqa: W293 (kubectl prints the blank line indented)

SPEC_RECURSIVE_HEAD = """\
FIELDS:
  minReadySeconds\t<integer>
  paused\t<boolean>
  progressDeadlineSeconds\t<integer>
  replicas\t<integer>
  revisionHistoryLimit\t<integer>
  selector\t<LabelSelector> -required-
    matchExpressions\t<[]LabelSelectorRequirement>
      key\t<string> -required-
      operator\t<string> -required-
      values\t<[]string>
    matchLabels\t<map[string]string>
  strategy\t<DeploymentStrategy>
    rollingUpdate\t<RollingUpdateDeployment>
      maxSurge\t<IntOrString>
      maxUnavailable\t<IntOrString>
    type\t<string>
  template\t<PodTemplateSpec> -required-
"""

JSONSCHEMAPROPS_RECURSIVE_HEAD = """\
FIELDS:
  $ref\t<string>
  $schema\t<string>
  additionalItems\t<JSONSchemaPropsOrBool>
  additionalProperties\t<JSONSchemaPropsOrBool>
  allOf\t<[]JSONSchemaProps>
  anyOf\t<[]JSONSchemaProps>
  default\t<JSON>
  definitions\t<map[string]JSONSchemaProps>
  dependencies\t<map[string]JSONSchemaPropsOrStringArray>
  description\t<string>
  enum\t<[]JSON>
  example\t<JSON>
  exclusiveMaximum\t<boolean>
  exclusiveMinimum\t<boolean>
  externalDocs\t<ExternalDocumentation>
    description\t<string>
    url\t<string>
  format\t<string>
"""

ALGORITHM = """\
GROUP:      cert-manager.io
KIND:       Certificate
VERSION:    v1

FIELD: algorithm <string>
ENUM:
    RSA
    ECDSA
    Ed25519

DESCRIPTION:
    Algorithm is the private key algorithm of the corresponding private key
    for this certificate.
    \n\
    If provided, allowed values are either `RSA`, `ECDSA` or `Ed25519`.
    If `algorithm` is specified and `size` is not provided,
    key size of 2048 will be used for `RSA` key algorithm and
    key size of 256 will be used for `ECDSA` key algorithm.
    key size is ignored when using the `Ed25519` key algorithm.
    \n
"""


def explain(group, version, kind, path="", **kw):
    return builtin_store().explain(group, version, kind, path, **kw)


def test_replicas_text_matches_kubectl():
    assert explain("apps", "v1", "Deployment", ["spec", "replicas"]).render() == REPLICAS


def test_nested_path_through_arrays_matches_kubectl():
    path = "spec.jobTemplate.spec.template.spec.containers.ports.containerPort"
    assert explain("batch", "v1", "CronJob", path).render() == CONTAINER_PORT


def test_object_field_lists_its_fields_like_kubectl():
    assert explain("apps", "v1", "Deployment", "spec").render().startswith(DEPLOYMENT_SPEC_HEAD)


def test_core_kind_has_no_group_line():
    assert explain("", "v1", "ConfigMap").render().startswith(CONFIGMAP_HEAD)


def test_recursive_shows_the_tree_without_descriptions():
    text = explain("apps", "v1", "Deployment", "spec", recursive=True).render()
    assert SPEC_RECURSIVE_HEAD in text
    assert "Minimum number of seconds" not in text


def test_recursive_schema_is_not_expanded_forever():
    text = explain("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                   "spec.versions.schema.openAPIV3Schema", recursive=True).render()
    assert JSONSCHEMAPROPS_RECURSIVE_HEAD in text
    assert "  not\t<JSONSchemaProps>\n  nullable" in text  # the recursive type is named, not expanded
    assert len(text.splitlines()) == 66  # as kubectl


def test_structured_explanation_of_an_object_field():
    e = explain("apps", "v1", "Deployment", "spec")
    assert (e.group, e.version, e.kind, e.path, e.name, e.type) == ("apps", "v1", "Deployment", ("spec",),
                                                                     "spec", "DeploymentSpec")
    assert e.required == ("selector", "template")
    assert e.field("replicas").type == "integer"
    assert e.field("selector").required and e.field("selector").type == "LabelSelector"
    assert e.field("template").description.startswith("Template describes the pods")


def test_structured_explanation_of_an_array_and_a_map():
    containers = explain("", "v1", "Pod", "spec.containers")
    assert containers.type == "[]Container"
    assert containers.required == ("name",)
    assert containers.description.endswith("A single application container that you want to run within a pod.")
    assert explain("", "v1", "Pod", "spec.containers.resources").field("limits").type == "map[string]Quantity"


def test_kind_level_explanation():
    e = explain("apps", "v1", "Deployment")
    assert e.path == () and e.name == "Deployment"
    assert [f.name for f in e.fields] == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert e.description == "Deployment enables declarative updates for Pods and ReplicaSets."


def test_recursive_fields_are_nested_in_the_structure():
    e = explain("apps", "v1", "Deployment", "spec.strategy", recursive=True)
    assert [(f.name, f.type) for f in e.field("rollingUpdate").fields] == [
        ("maxSurge", "IntOrString"), ("maxUnavailable", "IntOrString")]


def test_list_and_string_paths_are_the_same():
    assert explain("apps", "v1", "Deployment", ["spec", "selector"]) == \
        explain("apps", "v1", "Deployment", "spec.selector")


def test_unknown_field_suggests_the_close_path():
    with pytest.raises(errors.FieldNotFound, match=r"did you mean spec\.replicas\?") as caught:
        explain("apps", "v1", "Deployment", "spec.replica")
    assert caught.value.path == "spec.replica"
    assert caught.value.candidates == ("spec.replicas",)


def test_unknown_deep_field_names_where_it_was_looked_for():
    with pytest.raises(errors.FieldNotFound) as caught:
        explain("apps", "v1", "Deployment", "spec.template.spec.containers.imagePullPolicyy")
    assert str(caught.value) == ('field "imagePullPolicyy" does not exist in Deployment.spec.template.spec.containers'
                                 "; did you mean spec.template.spec.containers.imagePullPolicy?")


def test_field_without_suggestion():
    with pytest.raises(errors.FieldNotFound, match='field "zzz" does not exist in Deployment$'):
        explain("apps", "v1", "Deployment", "zzz")


def test_below_a_leaf_is_not_found():
    with pytest.raises(errors.FieldNotFound):
        explain("apps", "v1", "Deployment", "spec.replicas.value")


def test_empty_path_segment_is_invalid_input():
    with pytest.raises(errors.InvalidInput):
        explain("apps", "v1", "Deployment", "spec..replicas")


def test_unknown_kind_is_schema_unavailable_with_suggestion():
    with pytest.raises(errors.SchemaUnavailable, match="did you mean CronJob"):
        explain("batch", "v1", "Cronjob")


def test_crd_enum_field_matches_kubectl():
    store = crd_store(crd_manifest("cert-manager.io_certificates.yaml"))
    assert store.explain("cert-manager.io", "v1", "Certificate", "spec.privateKey.algorithm").render() == ALGORITHM


def test_crd_fields_show_enums_and_inline_object_types():
    store = crd_store(crd_manifest("monitoring.coreos.com_servicemonitors.yaml"))
    text = store.explain("monitoring.coreos.com", "v1", "ServiceMonitor", "spec.endpoints").render()
    assert "FIELD: endpoints <[]Object>" in text
    assert "  scheme\t<string>\n  enum: http, https, HTTP, HTTPS\n" in text
    assert "  targetPort\t<Object>\n" in text  # kubectl shows int-or-string CRD fields as Object


def test_explain_document_works_on_a_document_alone():
    e = explain_document(document("apis/apps/v1"), "apps", "v1", "StatefulSet", "spec.serviceName")
    assert e.type == "string"


def test_long_words_are_not_broken():
    text = explain("apps", "v1", "Deployment").render()
    url = "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
    assert f"\n    {url}\n" in text
