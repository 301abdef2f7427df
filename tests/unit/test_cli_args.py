"""The command line's argument handling and exit codes where no server is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

import dynkube
from dynkube.cli import main
from dynkube.cli.app import UsageError, build_parser
from dynkube.cli.get import Output, is_type_name, parse_output


@pytest.mark.parametrize("value, expected", [
    (None, Output("table")), ("wide", Output("wide")), ("json", Output("json")), ("yaml", Output("yaml")),
    ("name", Output("name")), ("jsonpath={.a}", Output("jsonpath", "{.a}")),
    ("jsonpath={.a=b}", Output("jsonpath", "{.a=b}")), ("custom-columns=A:.a", Output("custom-columns", "A:.a"))])
def test_output_formats(value: str | None, expected: Output) -> None:
    assert parse_output(value) == expected


@pytest.mark.parametrize("value", ["bogus", "jsonpath", "jsonpath=", "go-template={{.}}", "json=x"])
def test_bad_output_formats_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError):
        parse_output(value)


@pytest.mark.parametrize("arg, type_name", [
    ("pod/web", True), ("deployment.apps/web", True), ("apps/v1/deployments/web", True),
    ("pods", False), ("apps/v1/deployments", False), ("v1/configmaps", False), ("v1beta1/things", False)])
def test_type_slash_name_versus_slashed_resource_names(arg: str, type_name: bool) -> None:
    assert is_type_name(arg) is type_name


def test_global_flags_go_before_or_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["-n", "web", "--context", "c", "-v=6", "get", "pods"])
    after = parser.parse_args(["get", "pods", "-n", "web", "--context", "c", "-v", "6"])
    for args in (before, after):
        assert (args.namespace, args.context, args.verbosity, args.targets) == ("web", "c", 6, ["pods"])
    assert parser.parse_args(["get", "cm", "-n", "web", "cfg", "-o", "name", "other"]).targets == ["cm", "cfg", "other"]
    assert parser.parse_args(["get", "pods", "-ojson"]).output == "json"
    assert parser.parse_args(["get", "pods", "-o=jsonpath={.items[*]}"]).output == "jsonpath={.items[*]}"


def test_s_is_short_for_server_as_in_kubectl() -> None:
    assert build_parser().parse_args(["-s", "https://a:6443", "get", "pods"]).server == "https://a:6443"
    assert build_parser().parse_args(["get", "pods", "-s=https://b:6443"]).server == "https://b:6443"


@pytest.mark.parametrize("flag", ["--insecure-skip-tls-verify", "--debug"])
@pytest.mark.parametrize("given, value", [
    ([], False), (["{flag}"], True), *((["{flag}=" + v], True) for v in ("true", "True", "TRUE", "t", "T", "1")),
    *((["{flag}=" + v], False) for v in ("false", "False", "FALSE", "f", "F", "0")),
    (["{flag}", "{flag}=false"], False), (["{flag}=false", "{flag}"], True)])
def test_boolean_global_flags_take_kubectls_values_after_an_equals_sign(flag: str, given: list[str],
                                                                        value: bool) -> None:
    argv = [word.format(flag=flag) for word in given]
    dest = flag.lstrip("-").replace("-", "_")
    assert getattr(build_parser().parse_args([*argv, "get", "pods"]), dest) is value
    assert getattr(build_parser().parse_args(["get", "pods", *argv]), dest) is value


@pytest.mark.parametrize("argv, field, value", [
    (["--insecure-skip-tls-verify", "get", "pods"], "targets", ["pods"]),
    (["get", "--debug", "pods"], "targets", ["pods"]),
    (["delete", "--wait", "cm", "a"], "targets", ["cm", "a"]),
    (["delete", "--cascade", "cm", "a"], "cascade", "background"),
    (["create", "--dry-run", "configmap", "x"], "dry_run", "client"),
    (["create", "configmap", "--dry-run", "x"], "dry_run", "client"),
    (["create", "--dry-run=server", "configmap", "x"], "dry_run", "server"),
    (["rollout", "status", "-w", "deploy/web"], "targets", ["deploy/web"]),
    (["rollout", "status", "-w=false", "deploy/web"], "watch", False),
    (["api-resources", "--namespaced"], "namespaced", True),
    (["api-resources"], "namespaced", None),
])
def test_a_bare_flag_never_takes_the_next_argument_as_its_value(argv: list[str], field: str, value: object) -> None:
    assert getattr(build_parser().parse_args(argv), field) == value


@pytest.mark.parametrize("value", ["maybe", "yes", "tRue", ""])
def test_a_bad_boolean_value_is_one_line(value: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--kubeconfig", str(tmp_path / "none"), f"--insecure-skip-tls-verify={value}", "get", "pods"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: argument --insecure-skip-tls-verify: expected true or false, not {value!r} (see 'dynkube --help')"]


@pytest.mark.parametrize("text, seconds", [("30", 30.0), ("30s", 30.0), ("1m30s", 90.0), ("500ms", 0.5),
                                           ("0", None), ("1h", 3600.0)])
def test_request_timeouts(text: str, seconds: float | None) -> None:
    assert build_parser().parse_args(["--request-timeout", text, "api-versions"]).request_timeout == seconds


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "api-resources" in capsys.readouterr().out
    assert main(["get", "--help"]) == 0
    assert "custom-columns" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["get"], ["get", "pods", "-o", "go-template={{.}}"], ["nonsense"],
                                  ["get", "pods", "--request-timeout", "soon"], ["delete", "pods", "-f", "x.yaml"],
                                  ["apply", "-f", "x.yaml", "--dry-run=client"], []])
def test_bad_usage_is_exit_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    assert main(["--kubeconfig", str(tmp_path / "none"), *argv]) == 2
    err = capsys.readouterr().err
    assert err == "" if not argv else len(err.splitlines()) == 1 and err.startswith("error: ")


def test_client_version_needs_no_server(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--kubeconfig", str(tmp_path / "none"), "version", "--client"]) == 0
    assert capsys.readouterr().out == f"Client Version: v{dynkube.__version__}\n"


def test_missing_kubeconfig_is_exit_1_naming_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--kubeconfig", str(tmp_path / "none"), "get", "pods"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "none") in err and "Traceback" not in err
