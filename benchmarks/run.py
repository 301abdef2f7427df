"""Run every benchmark module, print its tables, and write benchmarks/results/latest.json.

A benchmark module is ``benchmarks/bench_*.py``: runnable alone, it prints its tables and accepts
``--json PATH`` to write its result document (``tables``, ``targets``, ...); see ``_common.py``.
Each module runs in its own interpreter with a time limit; a module that fails or runs out of time
is reported and the others still run. Timings are measurements, never pass/fail.

    benchmarks/run.py [--only import,discovery,...] [--quick]     (make bench)
    benchmarks/run.py --markdown benchmarks/results/latest.json   (tables for docs/performance.md)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

ORDER = ["bench_import", "bench_discovery", "bench_list"]  # then any other bench_*.py, by name
TIME_LIMIT = {"bench_import": 900, "bench_discovery": 2400, "bench_list": 3600, "bench_crds": 7200, "bench_aio": 1800,
              "bench_async_http": 1800, "bench_informer": 7200}
DEFAULT_LIMIT = 1800


def modules(only: list[str] | None) -> list[str]:
    found = sorted(p.stem for p in _common.BENCH_DIR.glob("bench_*.py"))
    ordered = [m for m in ORDER if m in found] + [m for m in found if m not in ORDER]
    if only:
        wanted = {m if m.startswith("bench_") else f"bench_{m}" for m in only}
        unknown = wanted - set(found)
        if unknown:
            sys.exit(f"run.py: no benchmark module {', '.join(sorted(unknown))} (have: {', '.join(found)})")
        ordered = [m for m in ordered if m in wanted]
    return ordered


def run_module(name: str, extra: list[str]) -> dict[str, Any]:
    """Run one module in its own interpreter and process group, echoing its output; a watchdog kills
    that process group (and only it) when the module's time limit passes."""
    limit = TIME_LIMIT.get(name, DEFAULT_LIMIT)
    with tempfile.TemporaryDirectory(prefix="dynkube-bench-run-") as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(_common.BENCH_DIR / f"{name}.py"), "--json", str(out), *extra]
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   cwd=str(_common.ROOT), env=_common.child_env(), start_new_session=True)
        timed_out = threading.Event()

        def watchdog() -> None:
            while process.poll() is None:
                if time.monotonic() - started > limit:
                    timed_out.set()
                    os.killpg(process.pid, signal.SIGKILL)
                    return
                time.sleep(1)

        threading.Thread(target=watchdog, daemon=True).start()
        lines: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
        process.wait()
        seconds = round(time.monotonic() - started, 1)
        if out.exists() and not timed_out.is_set():
            return json.loads(out.read_text())
        reason = f"timed out after {limit} s" if timed_out.is_set() else f"exit {process.returncode}"
        return {"benchmark": name, "error": reason, "seconds": seconds, "output": "".join(lines[-40:])}


def summary(results: dict[str, Any]) -> str:
    out = ["", "=" * 100, "SUMMARY", "=" * 100]
    for name, doc in results.items():
        if "error" in doc:
            out.append(f"{name}: FAILED ({doc['error']})")
            continue
        for t in doc.get("tables", ()):
            out += [_common.render(t), ""]
        for target, value in (doc.get("targets") or {}).items():
            out.append(f"  target {name}.{target}: {json.dumps(value)}")
        out.append("")
    return "\n".join(out)


def to_markdown(path: Path) -> str:
    doc = json.loads(path.read_text())
    m = doc["machine"]
    out = [f"Run of {m['time']} on commit {m['commit']}: {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, "
           f"load average at start {m['loadavg'][0]:.2f}.", "",
           "Versions: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v) + ".", ""]
    for name, result in doc["benchmarks"].items():
        if "error" in result:
            out += [f"`{name}` failed: {result['error']}", ""]
            continue
        for t in result.get("tables", ()):
            out += [_common.markdown(t), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated modules, e.g. import,list")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (noisier numbers)")
    parser.add_argument("--output", type=Path, default=_common.RESULTS_DIR / "latest.json",
                        help="where to write the results document (default benchmarks/results/latest.json)")
    parser.add_argument("--markdown", type=Path, metavar="RESULTS", help="print a results file as markdown and exit")
    options = parser.parse_args(argv)
    if options.markdown:
        print(to_markdown(options.markdown))
        return 0
    _common.kubeconfig_path()  # fail early, with the fix, when no cluster is up
    machine = _common.machine()
    print(f"machine: {machine['cpus']} CPUs ({machine['cpu_model']}), Python {machine['python']}, "
          f"load {machine['loadavg']}, commit {machine['commit']}", flush=True)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v), flush=True)
    results: dict[str, Any] = {}
    extra = ["--quick"] if options.quick else []
    for name in modules(options.only.split(",") if options.only else None):
        print(f"\n### {name}", flush=True)
        results[name] = run_module(name, extra)
    machine["loadavg_end"] = list(os.getloadavg())
    document = {"machine": machine, "quick": options.quick, "benchmarks": results}
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(document, indent=1) + "\n")
    print(summary(results))
    print(f"wrote {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
