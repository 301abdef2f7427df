"""Every code block of README.md and docs/*.md works as written, against the real server.

Python blocks of a page run in order in one namespace of names (as a reader types them into one
session), each in a thread, with a client configuration of the test cluster given through
$KUBECONFIG (its context's namespace: a fresh one) and the namespace names the pages use ("web",
"prod", "db", "scratch", "demo") replaced by that fresh namespace. What a page leaves to the reader
(the CRD text, a manifest, a ``transport``) is defined by ``SETUP`` below before its blocks run.

``console`` blocks: every ``$ dynkube ...`` command is parsed by the CLI's parser; the read-only ones
(get, api-resources, api-versions, explain, version, tree; not --watch, which runs until Ctrl-C) are
run, and must succeed, or, where the block shows an error, fail with that one error line (``...`` in
the shown text stands for anything; warnings, e.g. of an aggregated API that is down, may come
first). ``sh`` blocks name make targets and files (relative paths) that must exist; they are not
run (they install packages, start and stop the control plane, run the whole suite or the benchmarks).

A block is marked by an HTML comment on the line before its fence:
``<!-- docs-test: skip: REASON -->`` (not run; keep these few) or ``<!-- docs-test: until-stopped -->``
(it runs until stopped, e.g. ``for event in watch: ...``: the test lets it run until every watch it
opened is connected, then stops them).
"""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import shlex
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

import dynkube
from dynkube.cli import main
from dynkube.cli.app import UsageError, build_parser
from dynkube.discovery import clear_memory_cache
from dynkube.watch import Watch

from ..conftest import ROOT, fresh_namespace
from ..faults.watchkit import wait_for

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NAMESPACE_NAMES = ("web", "prod", "db", "scratch", "demo")  # the namespaces the pages use, each made the fresh one
READ_ONLY = {"get", "api-resources", "api-versions", "explain", "version", "tree"}
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
MARK = re.compile(r"<!-- docs-test: ([\w-]+)(?::\s*(.*?))? -->\s*$")
BLOCK_SECONDS = 120


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    code: str
    mark: str | None  # "skip", "until-stopped" or None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for fence in FENCE.finditer(text):
        before = text[:fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARK.search(before)
        if mark and mark.group(1) not in ("skip", "until-stopped"):
            raise AssertionError(f"{page.name}: unknown docs-test mark {mark.group(1)!r}")
        found.append(Block(str(page.relative_to(ROOT)), text.count("\n", 0, fence.start()) + 1, fence.group(1),
                           fence.group(2), mark.group(1) if mark else None))
    return found


def pages_with(lang: str) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in PAGES if any(b.lang == lang for b in blocks(p))]


def in_namespace(code: str, namespace: str) -> str:
    """``code`` with the pages' namespace names, as string literals, replaced by ``namespace``."""
    names = "|".join(NAMESPACE_NAMES)
    return re.sub(rf"([\"'])({names})\1", lambda m: f"{m.group(1)}{namespace}{m.group(1)}", code)


# ---- what each page leaves to the reader --------------------------------------------------------

def deployment(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def readme(client: dynkube.Client, namespace: str, cwd: Path) -> dict[str, Any]:
    client.resource("deployments").create(deployment("front", {"tier": "front"}), namespace)
    return {}


def client_page(client: dynkube.Client, namespace: str, cwd: Path) -> dict[str, Any]:
    client.resource("deployments").create(deployment(namespace), namespace)  # get("web", "prod")
    (cwd / "stack.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n")
    return {}


BACKUPS_CRD = "backups.examples.dynkube.io"


def guide_crds(client: dynkube.Client, namespace: str, cwd: Path) -> dict[str, Any]:
    crds = client.resource("crd")
    dynkube.wait_for(crds, BACKUPS_CRD, condition="delete", timeout=60)  # another test's copy being deleted
    crd_yaml = runpy.run_path(str(ROOT / "docs" / "examples" / "manage_crds.py"))["CRD"]
    backup = {"apiVersion": "examples.dynkube.io/v1", "kind": "Backup"}
    return {"CRD_YAML": crd_yaml,
            "manifest": {**backup, "metadata": {"name": "hourly"}, "spec": {"copies": 5}},
            "obj": {**backup, "metadata": {"name": "weekly"}, "spec": {"schedule": "0 4 * * 0", "copies": 1}}}


def schema_page(client: dynkube.Client, namespace: str, cwd: Path) -> dict[str, Any]:
    return {"transport": client.transport, "server": client.config.server, "manifest": deployment("validated"),
            "text": yaml.safe_dump(deployment("applied"))}


def watch_page(client: dynkube.Client, namespace: str, cwd: Path) -> dict[str, Any]:
    cms = client.resource("configmaps")
    cms.create({"metadata": {"name": "current"}}, namespace)  # the event the `with` example stops at
    return {"cms": cms, "done": lambda event: event.type == "ADDED",
            "metrics": SimpleNamespace(count=lambda obj, is_initial: None),
            "controller": SimpleNamespace(enqueue=lambda old, new: None)}


def cli_page(client: dynkube.Client, namespace: str, cwd: Path) -> dict[str, Any]:
    gizmos = client.resource("gizmos")
    gizmos.create({"metadata": {"name": "g1"}, "spec": {"size": "small", "replicas": 2}}, namespace)
    gizmos.create({"metadata": {"name": "g2"}, "spec": {"size": "large"}}, namespace)
    (cwd / "unreachable.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return {}


def snapshots_page(client: dynkube.Client, namespace: str, cwd: Path) -> dict[str, Any]:
    from dynkube.snapshot import save_snapshot

    save_snapshot(client, cwd / "cluster.snap")  # what the page's `dynkube --snapshot cluster.snap` reads
    return {}


def pods_page(client: dynkube.Client, namespace: str, cwd: Path) -> dict[str, Any]:
    deployments = client.resource("deployments")
    deployments.create(deployment("web"), namespace)  # the page's "deploy/web" and "app=web"
    dynkube.wait_for(deployments, "web", namespace, timeout=90,
                     condition=lambda d: d.get("status", {}).get("readyReplicas") == 2)
    return {}


def nothing(client: dynkube.Client, namespace: str, cwd: Path) -> dict[str, Any]:
    return {}


Setup = Callable[[dynkube.Client, str, Path], dict[str, Any]]
SETUP: dict[str, Setup] = {"README.md": readme, "docs/client.md": client_page, "docs/guide-crds.md": guide_crds,
                           "docs/schema.md": schema_page, "docs/watch.md": watch_page, "docs/cli.md": cli_page,
                           "docs/snapshots.md": snapshots_page, "docs/pods.md": pods_page}
TEARDOWN: dict[str, Callable[[dynkube.Client], None]] = {
    "docs/guide-crds.md": lambda client: _delete_crd(client, BACKUPS_CRD)}


def _delete_crd(client: dynkube.Client, name: str) -> None:
    crds = client.resource("crd")
    with contextlib.suppress(dynkube.NotFound):
        crds.delete(name)
    dynkube.wait_for(crds, name, condition="delete", timeout=60)


@pytest.fixture
def reader(client: dynkube.Client, gizmo_crds: None, kubeconfig_path: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A fresh namespace and a working directory, with $KUBECONFIG naming the test cluster (context
    namespace: the fresh one) and a private $KUBECACHEDIR."""
    with fresh_namespace(client) as namespace:
        # a reader's namespace has the controller's ConfigMap already; a block's watch must not meet it
        dynkube.wait_for(client.resource("configmaps"), "kube-root-ca.crt", namespace, condition="create", timeout=60)
        config = yaml.safe_load(kubeconfig_path.read_text())
        current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
        current["context"]["namespace"] = namespace
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
        work = tmp_path / "work"
        work.mkdir()
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "cache"))
        monkeypatch.chdir(work)
        clear_memory_cache()  # as in a new process: the reader's discovery starts from the server
        yield namespace, work


@pytest.fixture
def opened_watches(monkeypatch: pytest.MonkeyPatch) -> list[Watch]:
    """Every Watch constructed during the test (so that blocks that run until stopped can be stopped)."""
    opened: list[Watch] = []
    construct = Watch.__init__

    def recording(self: Watch, *args: Any, **kwargs: Any) -> None:
        construct(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(Watch, "__init__", recording)
    return opened


# ---- python ---------------------------------------------------------------------------------------

def run_block(block: Block, code: str, scope: dict[str, Any], opened: list[Watch]) -> list[str]:
    """Run one block in a thread; the lines it printed. Fails with the block's traceback."""
    printed: list[str] = []
    failure: list[str] = []
    scope["print"] = lambda *args, **kwargs: printed.append(" ".join(str(a) for a in args))
    watches_before = len(opened)

    def target() -> None:
        try:
            exec(compile(code, block.where, "exec"), scope)
        except Exception:
            failure.append(traceback.format_exc())

    thread = threading.Thread(target=target, name=f"docs {block.where}", daemon=True)
    thread.start()
    try:
        if block.mark == "until-stopped":
            wait_for(lambda: failure or (len(opened) > watches_before
                                         and all(w._response is not None for w in opened[watches_before:])),
                     timeout=BLOCK_SECONDS, what=f"{block.where} to watch")
        else:
            thread.join(BLOCK_SECONDS)
            assert not thread.is_alive(), f"{block.where} did not finish in {BLOCK_SECONDS} s"
    finally:
        for watch in opened[watches_before:]:
            watch.stop()
        thread.join(30)
    assert not failure, f"{block.where} failed:\n{failure[0]}"
    return printed


@pytest.mark.parametrize("page", pages_with("python"))
def test_python_blocks_run(page: str, reader: tuple[str, Path], client: dynkube.Client,
                           opened_watches: list[Watch]) -> None:
    namespace, work = reader
    scope: dict[str, Any] = {"__name__": "__docs__", "dynkube": dynkube}
    try:
        scope.update(SETUP.get(page, nothing)(client, namespace, work))
        with dynkube.Client() as reader_client:  # what `client` is on pages that do not make their own
            scope["client"] = reader_client
            printed = {b.line: run_block(b, in_namespace(b.code, namespace), scope, opened_watches)
                       for b in blocks(ROOT / page) if b.lang == "python" and b.mark != "skip"}
    finally:
        if page in TEARDOWN:
            TEARDOWN[page](client)
    if page == "README.md":  # the headline example prints what it says
        assert list(printed.values())[0] == ["front 2", "ADDED g1"]


# ---- console and sh ---------------------------------------------------------------------------------

SHELL_OPERATORS = {">", ">>", "<", "|", "2>", "2>&1", "&&", ";"}


@dataclass(frozen=True)
class Command:
    argv: list[str]
    shown: str  # the output shown after it ("" when none)


def commands(block: Block, namespace: str) -> list[Command]:
    found: list[Command] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            argv = shlex.split(line[2:], comments=True)
            for i, word in enumerate(argv):  # a redirection or pipe ends dynkube's own arguments
                if word in SHELL_OPERATORS:
                    argv = argv[:i]
                    break
            for i in range(1, len(argv)):
                if argv[i - 1] in ("-n", "--namespace") and argv[i] in NAMESPACE_NAMES:
                    argv[i] = namespace
            found.append(Command(argv, ""))
        elif found:
            found[-1] = Command(found[-1].argv, (found[-1].shown + "\n" + line).strip("\n"))
    return found


def parses(argv: list[str]) -> bool:
    """Whether the command line parses (a shown usage error is then safe to reproduce: nothing runs)."""
    try:
        build_parser().parse_args(argv[1:])
    except (UsageError, SystemExit):
        return False
    return True


def runs_safely(argv: list[str]) -> bool:
    """Read-only and ends by itself."""
    args = [a for a in argv[1:] if not a.startswith("-")]
    return bool(args) and args[0] in READ_ONLY and not {"--watch", "-w", "--watch-only"} & set(argv)


def shown_error(shown: str) -> re.Pattern[str] | None:
    """The error a command is shown to print (``...`` matching anything), or None."""
    first = shown.splitlines()[0] if shown else ""
    if not first.startswith(("error:", "Error from server")):
        return None
    return re.compile(".*".join(re.escape(part) for part in first.split("...")))


@pytest.mark.parametrize("page", pages_with("console"))
def test_console_blocks_parse_and_read_only_commands_run(page: str, reader: tuple[str, Path],
                                                         client: dynkube.Client) -> None:
    namespace, work = reader
    SETUP.get(page, nothing)(client, namespace, work)
    for block in blocks(ROOT / page):
        if block.lang != "console" or block.mark == "skip":
            continue
        for command in commands(block, namespace):
            assert command.argv[0] == "dynkube", f"{block.where}: {command.argv}"
            expected = shown_error(command.shown)
            if expected is None:
                build_parser().parse_args(command.argv[1:])  # exits (fails the test) on a bad option
            usage_error = expected is not None and not parses(command.argv)  # refused before doing anything
            if not runs_safely(command.argv) and not usage_error:
                continue
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(command.argv[1:])
            if expected is None:
                assert code == 0, f"{block.where}: {shlex.join(command.argv)}: {err.getvalue()}"
            else:
                errors = [line for line in err.getvalue().splitlines() if not line.startswith("warning:")]
                assert code != 0 and len(errors) == 1 and expected.fullmatch(errors[0]), (
                    f"{block.where}: {shlex.join(command.argv)} printed {err.getvalue()!r}, the page shows "
                    f"{command.shown.splitlines()[0]!r}")


def test_sh_blocks_name_make_targets_and_files_that_exist() -> None:
    targets = set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(), re.M))
    checked = 0
    for page in PAGES:
        for block in blocks(page):
            if block.lang != "sh":
                continue
            for line in block.code.splitlines():
                argv = shlex.split(line, comments=True)
                if not argv:
                    continue
                checked += 1
                if argv[0] == "make":
                    assert set(argv[1:]) <= targets, f"{block.where}: no make target in {argv[1:]}"
                files = [a for a in argv if "/" in a and not a.startswith(("-", "/", "~", "$"))]
                assert all((ROOT / f).exists() for f in files), f"{block.where}: {line}"
    assert checked >= 5
