"""Shared helpers of the benchmarks: the cluster, a raw requests session, request counting,
worker subprocesses, tables with ratios, and the machine description.

Benchmarks are measurements, never pass/fail tests. Every ``bench_*.py`` module is runnable alone
(``python benchmarks/bench_X.py``), prints its tables and, with ``--json PATH``, writes its result
document there; ``benchmarks/run.py`` runs every module that way and collects the documents.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"
BENCH_NAMESPACE = "dynkube-bench"       # the 10,000 ConfigMaps and the CRD objects live here
RESULT_MARKER = "BENCHRESULT "           # a worker's last stdout line: marker + JSON
BASE = "dynkube"
FLOOR = "raw"

PACKAGES = ("dynkube", "requests", "urllib3", "kubernetes", "kr8s", "lightkube", "lightkube-models",
            "httpx", "httpx2", "cachetools", "PyYAML", "jsonschema", "aiohttp", "niquests", "urllib3-future", "h2")


# ---- the cluster -----------------------------------------------------------------------------

def kubeconfig_path() -> Path:
    """$DYNKUBE_BENCH_KUBECONFIG, else the project's local control plane (which must be up)."""
    explicit = os.environ.get("DYNKUBE_BENCH_KUBECONFIG")
    if explicit:
        return Path(explicit)
    envtest = ROOT / "scripts" / "envtest"
    status = subprocess.run([str(envtest), "status"], capture_output=True, text=True, timeout=60)
    if status.returncode != 0 or "up at" not in status.stdout:
        sys.exit("benchmarks: the local control plane is not up; run `scripts/envtest up` (or `make bench`), "
                 "or set DYNKUBE_BENCH_KUBECONFIG")
    out = subprocess.run([str(envtest), "kubeconfig"], capture_output=True, text=True, timeout=60)
    return Path(out.stdout.strip().splitlines()[-1])


def admin_client(kubeconfig: Path, **kwargs: Any) -> Any:
    """A dynkube client for setting up fixtures (no rate limit, memory-only discovery cache)."""
    import dynkube

    kwargs.setdefault("qps", None)
    kwargs.setdefault("cache_dir", False)
    return dynkube.Client(kubeconfig=kubeconfig, **kwargs)


def ensure_namespace(client: Any, name: str = BENCH_NAMESPACE) -> None:
    """Create the namespace unless it exists (waiting out a previous deletion)."""
    import dynkube

    namespaces = client.resource("namespaces")
    deadline = time.monotonic() + 120
    while True:
        try:
            ns = namespaces.get(name)
        except dynkube.NotFound:
            try:
                namespaces.create({"metadata": {"name": name, "labels": {"dynkube-bench": "true"}}})
            except dynkube.AlreadyExists:
                pass
            continue
        if ns.get("status", {}).get("phase") != "Terminating":
            return
        if time.monotonic() > deadline:
            sys.exit(f"benchmarks: namespace {name} is still terminating after 120 s")
        time.sleep(1)


class RawCluster:
    """A plain ``requests.Session`` for the kubeconfig's current context (no dynkube code involved):
    the raw floor. Certificates go to a private temporary directory, removed by ``close()``."""

    def __init__(self, kubeconfig: Path) -> None:
        import requests
        import yaml

        config = yaml.safe_load(kubeconfig.read_text())
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        self.server = cluster["server"].rstrip("/")
        self._dir = tempfile.TemporaryDirectory(prefix="dynkube-bench-")
        files = Path(self._dir.name)
        self.session = requests.Session()
        self.session.trust_env = False
        if "certificate-authority-data" in cluster:
            self.session.verify = self._write(files / "ca.crt", cluster["certificate-authority-data"])
        elif cluster.get("insecure-skip-tls-verify"):
            self.session.verify = False
        if "client-certificate-data" in user:
            self.session.cert = (self._write(files / "client.crt", user["client-certificate-data"]),
                                 self._write(files / "client.key", user["client-key-data"]))
        if user.get("token"):
            self.session.headers["Authorization"] = f"Bearer {user['token']}"

    @staticmethod
    def _write(path: Path, b64: str) -> str:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64decode(b64))
        return str(path)

    def get(self, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", 120)
        response = self.session.get(self.server + path, **kwargs)
        response.raise_for_status()
        return response

    def close(self) -> None:
        self.session.close()
        self._dir.cleanup()


# ---- counting HTTP requests, the same way for every contender -------------------------------------

class RequestCounter:
    """Counts HTTP requests by wrapping the lowest request method of urllib3 (requests, kubernetes)
    and of the httpx / httpx2 transports (kr8s, lightkube) in this process. Measurement
    instrumentation only: install it after importing the contender, before timing."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    @property
    def count(self) -> int:
        return len(self.requests)

    def reset(self) -> None:
        self.requests.clear()

    def install(self) -> RequestCounter:
        record = self.requests.append
        import urllib3.connectionpool as pool

        original = pool.HTTPConnectionPool._make_request

        def counted_urllib3(self_: Any, conn: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            record(f"{method} {url.split('?')[0]}")
            return original(self_, conn, method, url, *args, **kwargs)

        pool.HTTPConnectionPool._make_request = counted_urllib3  # type: ignore[method-assign]
        for name in ("httpx", "httpx2"):
            module = sys.modules.get(name)
            if module is not None:
                _count_httpx(module, record)
        return self


def _count_httpx(module: Any, record: Callable[[str], None]) -> None:
    sync_original = module.HTTPTransport.handle_request
    async_original = module.AsyncHTTPTransport.handle_async_request

    def counted_sync(self_: Any, request: Any) -> Any:
        record(f"{request.method} {request.url.path}")
        return sync_original(self_, request)

    async def counted_async(self_: Any, request: Any) -> Any:
        record(f"{request.method} {request.url.path}")
        return await async_original(self_, request)

    module.HTTPTransport.handle_request = counted_sync
    module.AsyncHTTPTransport.handle_async_request = counted_async


# ---- memory ----------------------------------------------------------------------------------

def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """High-water mark of the resident set size of this process (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---- workers ---------------------------------------------------------------------------------

def child_env(**extra: str) -> dict[str, str]:
    """This environment with bytecode caching enabled (it sets PYTHONDONTWRITEBYTECODE=1), plus ``extra``."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def emit(result: dict[str, Any]) -> None:
    """A worker's answer to its parent: one marked JSON line on stdout."""
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


def run_worker(script: Path, args: Sequence[str], *, timeout: float, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> dict[str, Any]:
    """Run ``python script --worker args...`` in a fresh interpreter; its emitted result, or
    ``{"error": ...}`` when it failed or ran out of time (it is killed then)."""
    command = [sys.executable, str(script), "--worker", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=str(cwd or ROOT))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-6:]
    return {"error": f"exit {done.returncode}: " + " | ".join(tail)}


def profile(fn: Callable[[], Any], top: int = 25) -> str:
    """cProfile of one call of ``fn``: the ``top`` functions by cumulative and by own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(fn)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---- statistics and formatting ---------------------------------------------------------------

def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def fmt_value(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if unit == "s":
        if value >= 1:
            return f"{value:.2f} s"
        if value >= 0.001:
            return f"{value * 1000:.1f} ms"
        return f"{value * 1e6:.0f} us"
    if unit == "B":
        return f"{value / 2**20:.1f} MiB"
    if unit == "n":
        return f"{value:g}"
    return f"{value}"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x"


def table(title: str, rows: list[dict[str, Any]], metrics: Sequence[tuple[str, str, str]], *,
          ratios: Sequence[str] = (), base: str | None = BASE, floor: str | None = FLOOR,
          group_key: str | None = None, notes: Sequence[str] = ()) -> dict[str, Any]:
    """A result table. ``rows`` have ``name`` (and ``group_key`` when ratios compare within groups);
    ``metrics`` are (key, label, unit); for each key in ``ratios``, every row gets ``key/base`` and
    ``key/floor`` (its value over the value of the row named ``base`` / ``floor`` in its group)."""
    def reference(row: dict[str, Any], name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        for other in rows:
            if other["name"] == name and (group_key is None or other.get(group_key) == row.get(group_key)):
                return other
        return None

    for row in rows:
        for key in ratios:
            for label, ref_name in (("base", base), ("floor", floor)):
                ref = reference(row, ref_name)
                value, ref_value = row.get(key), ref.get(key) if ref else None
                ok = isinstance(value, (int, float)) and isinstance(ref_value, (int, float)) and ref_value > 0
                row[f"{key}/{label}"] = value / ref_value if ok else None
    return {"title": title, "metrics": [list(m) for m in metrics], "ratios": list(ratios), "base": base,
            "floor": floor, "group_key": group_key, "rows": rows, "notes": list(notes)}


def _cells(t: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of a table document: each metric, then its ratios."""
    headers = ["contender"] + ([t["group_key"]] if t.get("group_key") else [])
    for key, label, _unit in t["metrics"]:
        headers.append(label)
        if key in t["ratios"]:
            headers += [f"vs {name}" for name in (t.get("base"), t.get("floor")) if name]
    lines = []
    for row in t["rows"]:
        cells = [row["name"]] + ([str(row.get(t["group_key"], ""))] if t.get("group_key") else [])
        for key, _label, unit in t["metrics"]:
            cells.append(fmt_value(row.get(key), unit))
            if key in t["ratios"]:
                cells += [fmt_ratio(row.get(f"{key}/{which}"))
                          for which, name in (("base", t.get("base")), ("floor", t.get("floor"))) if name]
        lines.append(cells)
    return headers, lines


def render(t: dict[str, Any]) -> str:
    """A fixed-width text rendering of a table document."""
    headers, lines = _cells(t)
    widths = [max(len(c) for c in column) for column in zip(headers, *lines)]
    out = [f"== {t['title']} ==", "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in lines]
    out += [f"  * {note}" for note in t.get("notes", ())]
    return "\n".join(out)


def markdown(t: dict[str, Any]) -> str:
    """The same table as GitHub markdown (for docs/performance.md)."""
    headers, lines = _cells(t)
    out = [f"**{t['title']}**", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    if t.get("notes"):
        out += [""] + [f"- {note}" for note in t["notes"]]
    return "\n".join(out)


# ---- the machine -----------------------------------------------------------------------------

def package_versions() -> dict[str, str | None]:
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "platform": platform.platform(), "loadavg": list(os.getloadavg()), "commit": commit,
            "packages": package_versions(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


# ---- a module's entry point ------------------------------------------------------------------

def bench_main(name: str, run: Callable[[argparse.Namespace], dict[str, Any]],
               worker: Callable[[list[str]], None], add_arguments: Callable[[argparse.ArgumentParser], None]
               | None = None, argv: list[str] | None = None) -> int:
    """The ``main`` of a bench module: ``--worker ...`` runs one measurement in this (fresh) process;
    otherwise runs the benchmark, prints its tables and writes ``--json PATH`` if asked."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog=f"benchmarks/{name}.py")
    parser.add_argument("--json", type=Path, help="write the result document to this file")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, noisier numbers)")
    if add_arguments:
        add_arguments(parser)
    options = parser.parse_args(argv)
    started = time.monotonic()
    result = run(options)
    result.setdefault("benchmark", name)
    result["seconds"] = round(time.monotonic() - started, 1)
    result.setdefault("machine", machine())
    for t in result.get("tables", ()):
        print(render(t), flush=True)
        print(flush=True)
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    return 0
