"""Formats, integers and list rules as the server applies them.

Every expectation here was observed on kube-apiserver 1.37.2 with ``dryRun=All`` and ``fieldValidation=Strict``
(tests/integration/test_schema.py keeps checking a sample of them against the live server). Two families:
built-in kinds are decoded by Go (metav1.Time, MicroTime, []byte, int32), a CRD's own schema is checked by
kube-openapi's strfmt registry.
"""

from __future__ import annotations

import pytest

from .test_schema_support import builtin_store, crd_manifest_for, crd_store

FORMATS = ["date-time", "datetime", "date", "byte", "ipv4", "ipv6", "cidr", "uuid", "uuid4", "mac", "duration",
           "uri", "hexcolor", "bsonobjectid", "quantity", "int-or-string", "email", "password"]
SCHEMA = {"type": "object", "properties": {
    "f": {"type": "object", "properties": {name: {"type": "string", "format": name} for name in FORMATS}},
    "n": {"type": "integer"},
    "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
    "entries": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "required": ["name"],
                          "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}},
}}


@pytest.fixture(scope="module")
def crd():
    return crd_store(crd_manifest_for(SCHEMA))


def crd_issues(store, spec):
    return store.validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, **spec},
                          "example.com", "v1", "Widget")


CRD_FORMAT_CASES = [
    # (format, value, the server accepts it)
    ("date-time", "2024-01-02T03:04:05Z", True), ("date-time", "2024-01-02t03:04:05z", True),
    ("date-time", "2024-01-02T03:04:05.123+01:00", True), ("date-time", "2024-01-02T03:04:05+25:00", True),
    ("date-time", "2024-01-02T03:04:05x5Z", True), ("date-time", "2024-01-02T03:04:05Zt", True),
    ("date-time", "2024-01-02T03:04:05", False), ("date-time", "2024-01-02 03:04:05Z", False),
    ("date-time", "2024-13-02T03:04:05Z", False), ("date-time", "2024-01-02T24:00:00Z", False),
    ("date-time", "2024-01-02T03:04:60Z", False), ("date-time", "2024-01-02T03:04Z", False),
    ("date-time", "2024-01-02T03:04:05.Z", False), ("date-time", "", False), ("datetime", "x", False),
    ("date", "2024-02-30", False), ("date", "2024-1-2", False), ("date", "", False), ("date", "2024-02-29", True),
    ("byte", "aGk=", True), ("byte", "aGk", False), ("byte", "-_8=", False), ("byte", "aGVs\nbG8=", False),
    ("byte", "", False), ("byte", "!!!", False),
    ("ipv4", "1.2.3.4", True), ("ipv4", "01.2.3.4", True), ("ipv4", "1.2.3.0000001", True),
    ("ipv4", "::ffff:1.2.3.4", True), ("ipv4", "1.2.3", False), ("ipv4", "1.2.3.256", False),
    ("ipv6", "::ffff:1.2.3.4", True), ("ipv6", "::g", False), ("ipv6", "fe80::1%eth0", False),
    ("ipv6", "00001::", False),
    ("cidr", "10.0.0.1/8", True), ("cidr", "010.0.0.0/8", True), ("cidr", "10.0.0.0/08", True),
    ("cidr", "::ffff:1.2.3.4/120", True), ("cidr", "1.2.3.4", False), ("cidr", "10.0.0.0/33", False),
    ("cidr", "10.0.0.0/255.0.0.0", False),
    ("uuid", "0123456789abcdef0123456789abcdef", True), ("uuid", "01234567-89AB-cdef-0123-456789abcdef", True),
    ("uuid", "x", False), ("uuid4", "01234567-89ab-1def-8123-456789abcdef", False),
    ("uuid4", "01234567-89ab-4def-0123-456789abcdef", False), ("uuid4", "01234567-89ab-4def-8123-456789abcdef", True),
    ("mac", "zz", False), ("mac", "00:00:5e:00:53:01", True), ("mac", "0000.5e00.5301", True),
    ("mac", "00:00-5e:00:53:01", False),
    ("duration", "forever", False), ("duration", "5m", True), ("duration", "1 day", True), ("duration", "1h30m", True),
    ("duration", "5 parsecs", False), ("duration", "0", True),
    ("uri", "::", False), ("uri", "relative/path", False), ("uri", "", False), ("uri", "/a b", True),
    ("uri", "mailto:x", True), ("uri", "*", True), ("uri", "http://a b/", False), ("uri", "?x", False),
    ("uri", "/%zz", False), ("uri", "https://example.com/x?y=%zz", True),
    ("hexcolor", "red", False), ("hexcolor", "#fff", True), ("hexcolor", "ffffff", True),
    ("bsonobjectid", "507f1f77bcf86cd799439011", True), ("bsonobjectid", "", False), ("bsonobjectid", "x", False),
    ("quantity", "1GB", True),  # "quantity" is not a format the server recognises on a CRD: not checked
    ("int-or-string", "x", True), ("password", "", True),
]


@pytest.mark.parametrize(("fmt", "value", "accepted"), CRD_FORMAT_CASES)
def test_crd_formats_as_the_server_checks_them(crd, fmt, value, accepted):
    issues = crd_issues(crd, {"f": {fmt: value}})
    assert (issues == []) is accepted, issues
    if not accepted:
        public = "date-time" if fmt in ("date-time", "datetime") else fmt
        assert [(i.path, i.keyword, i.message) for i in issues] == [(f"f.{fmt}", "format",
                                                                      f"{value!r} is not a {public!r}")]


@pytest.mark.parametrize("value", ["not-an-email", ""])
def test_email_is_not_checked_although_the_server_does(crd, value):
    assert crd_issues(crd, {"f": {"email": value}}) == []  # a documented difference (net/mail is not reproduced)


def test_crd_integer_accepts_an_integral_float(crd):
    assert crd_issues(crd, {"n": 2.0}) == []
    assert [i.keyword for i in crd_issues(crd, {"n": 2.5})] == ["type"]


def test_crd_set_rejects_a_duplicate_at_its_index(crd):
    issues = crd_issues(crd, {"tags": ["a", "b", "a"]})
    assert [(str(i), i.keyword) for i in issues] == [('tags[2]: Duplicate value: "a"', "x-kubernetes-list-type")]


def test_crd_map_list_rejects_a_duplicate_key(crd):
    issues = crd_issues(crd, {"entries": [{"name": "a"}, {"name": "b"}, {"name": "a", "value": "x"}]})
    assert [str(i) for i in issues] == ['entries[2]: Duplicate value: {"name":"a"}']
    assert crd_issues(crd, {"entries": [{"name": "a", "value": "x"}, {"name": "b", "value": "x"}]}) == []


def configmap(**metadata):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", **metadata}}


@pytest.mark.parametrize(("value", "accepted"), [
    ("2024-01-02T03:04:05Z", True), ("2024-01-02T03:04:05.5+01:00", True), ("2024-01-02T03:04:05,5Z", True),
    ("2024-01-02T3:04:05Z", True), ("2024-01-02T03:04:05+23:59", True), ("2024-01-02T03:04:05+01:60", True),
    ("2024-01-02t03:04:05z", False), ("2024-01-02T03:04:05z", False), ("2024-01-02T03:04:05", False),
    ("2024-01-02 03:04:05Z", False), ("2024-01-02T03:04:05+25:00", False), ("2024-01-02T03:04:05+0100", False),
    ("2024-01-02T03:04:05x5Z", False), ("yesterday", False), ("2024-01-02T03:04:05Z\n", False),
])
def test_builtin_time_is_parsed_as_go_parses_rfc3339(value, accepted):
    issues = builtin_store().validate_object(configmap(creationTimestamp=value))
    assert (issues == []) is accepted, issues


@pytest.mark.parametrize(("value", "accepted"), [
    ("2024-01-02T03:04:05.123456Z", True), ("2024-01-02T03:04:05Z", False), ("2024-01-02T03:04:05.123Z", False),
    ("2024-01-02T03:04:05.123456789Z", False),
])
def test_micro_time_needs_six_fraction_digits(value, accepted):
    # core/v1 Event.eventTime is a metav1.MicroTime
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {},
             "eventTime": value}
    issues = builtin_store().validate_object(event)
    assert (issues == []) is accepted, issues


def test_builtin_integer_rejects_an_integral_float():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"replicas": 3.0, "selector": {}, "template": {},
                           "strategy": {"rollingUpdate": {"maxSurge": 2.0}}}}
    issues = builtin_store().validate_object(deployment)
    assert [(str(i), i.keyword) for i in issues] == [
        ("spec.replicas: 3.0 is not of type 'integer'", "type"),
        ("spec.strategy.rollingUpdate.maxSurge: 2.0 is not of type 'integer'", "type")]


def test_builtin_quantity_accepts_a_float_and_rejects_a_bad_suffix():
    def pod(cpu):
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "c", "image": "i", "resources": {"limits": {"cpu": cpu}}}]}}
    assert builtin_store().validate_object(pod(2.0)) == []
    assert [str(i) for i in builtin_store().validate_object(pod("1GB"))] == [
        "spec.containers[0].resources.limits[cpu]: '1GB' is not a 'quantity'"]


@pytest.mark.parametrize(("value", "accepted"), [
    ("aGVsbG8=", True), ("aGVs\nbG8=", True), ("", True), ("not base64!", False), ("aGk", False)])
def test_builtin_bytes_are_decoded_as_encoding_json_does(value, accepted):
    issues = builtin_store().validate_object({**configmap(), "binaryData": {"b": value}})
    assert (issues == []) is accepted, issues


PASSWORD_SCHEMA = {"type": "object", "properties": {"spec": {"type": "object", "maxProperties": 2, "properties": {
    "password": {"type": "string", "format": "password", "minLength": 12, "pattern": "^[a-z]+$"},
    "pin": {"type": "string", "format": "password", "maxLength": 4},
    "login": {"type": "object", "properties": {"password": {"type": "string", "format": "password"}},
              "anyOf": [{"required": ["password"]}, {"maxProperties": 0}]},
    "name": {"type": "string", "maxLength": 3},
}}}}


def test_fields_of_a_secret_like_format_are_not_quoted():
    store = crd_store(crd_manifest_for(PASSWORD_SCHEMA))
    spec = {"password": "Hunter2", "pin": "123456", "login": {"password": 0}, "name": "long"}
    found = [str(i) for i in crd_issues(store, {"spec": spec})]
    assert found == ["spec: <secret> has more than 2 properties",  # jsonschema would print the whole spec
                     "spec.login.password: <secret> is not of type 'string'",
                     "spec.name: 'long' is too long",
                     "spec.password: <secret> is shorter than 12 characters",
                     "spec.password: <secret> does not match '^[a-z]+$'",
                     "spec.pin: <secret> is longer than 4 characters"]
    assert not any(secret in text for text in found for secret in ("Hunter2", "123456"))
