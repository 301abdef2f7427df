"""Usage errors found by comparing dynkube with kubectl: refused abbreviations, hints that point at the
command's own help, and bad values that must be one line with exit code 2 (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dynkube.cli import main


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> tuple[int, str]:
    code = main(["--kubeconfig", str(tmp_path / "none"), *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize("argv, flag", [
    (["apply", "-f", "x.yaml", "--force"], "--force"),            # not --force-conflicts
    (["get", "cm", "--all", "-n", "web"], "--all"),              # not --all-namespaces
    (["delete", "cm", "--all-name"], "--all-name"),
    (["get", "cm", "--no-head"], "--no-head"),
    (["tree", "--cou"], "--cou"),
    (["version", "--client", "--kubecon=x"], "--kubecon=x"),
])
def test_abbreviated_flags_are_refused(argv: list[str], flag: str, capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    code, err = run(capsys, tmp_path, *argv)
    assert code == 2
    assert len(err.splitlines()) == 1 and flag in err


def test_unknown_flag_points_at_the_commands_help(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = run(capsys, tmp_path, "get", "pods", "--bogus")
    assert (code, err) == (2, "error: unrecognized arguments: --bogus (see 'dynkube get --help')\n")
    code, err = run(capsys, tmp_path, "--bogus", "version")
    assert (code, err) == (2, "error: unrecognized arguments: --bogus (see 'dynkube version --help')\n")


def test_unsupported_output_hint_names_no_repository_file(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    code, err = run(capsys, tmp_path, "get", "pods", "-o", "go-template={{.}}")
    assert code == 2
    assert "docs/" not in err and "'dynkube get --help'" in err


@pytest.mark.parametrize("argv", [
    ["get", "pods", "-o", "jsonpath={.items[::0]}"],
    ["get", "pods", "-o", "jsonpath={.items[::-1]}"],  # kubectl: step must be > 0
    ["get", "pods", "--request-timeout", "99999999999999999999"],
    ["--request-timeout", "9999999999s", "get", "pods"],
    ["delete", "pods", "p", "--timeout", "99999999999999999999s"],
])
def test_impossible_values_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    code, err = run(capsys, tmp_path, *argv)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ")


def test_longest_go_duration_is_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = run(capsys, tmp_path, "--request-timeout", "9223372036", "version", "--client")
    assert (code, err) == (0, "")


def test_non_utf8_manifest_is_one_line_naming_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    manifest = tmp_path / "latin1.yaml"
    manifest.write_bytes("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n".encode("latin-1"))
    kubeconfig = tmp_path / "kubeconfig"  # a server that is never reached: the file is refused first
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {}}], "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    for command in ("apply", "delete"):
        code = main(["--kubeconfig", str(kubeconfig), command, "-f", str(manifest)])
        err = capsys.readouterr().err
        assert code == 1
        assert len(err.splitlines()) == 1
        assert str(manifest) in err and "not UTF-8" in err and "0xe9" in err and "internal error" not in err


@pytest.mark.parametrize("argv", [
    ["apply", "-f", "x.yaml", "--server-side=false"],  # dynkube applies server-side only
    ["get", "cm", "-f", "x.yaml"],
    ["get", "-f", "x.yaml", "-l", "app=web"],
    ["get", "-f", "x.yaml", "-A"],
    ["delete", "cm", "--all", "-l", "app=web"],  # kubectl refuses both
    ["delete", "cm", "--all", "--field-selector", "metadata.name=x"],
])
def test_refused_combinations_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    manifest = tmp_path / "x.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    code, err = run(capsys, tmp_path, *[str(manifest) if a == "x.yaml" else a for a in argv])
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
