"""Import time of dynkube against requests, kubernetes, kr8s and lightkube, and the cost of
constructing a client from a kubeconfig (which must not touch the network).

Every measurement is a fresh interpreter running a tiny ``-c`` program (nothing of the benchmark is
imported there), median of N runs, contenders interleaved round-robin so that background load hits
them alike. Bytecode caching is on for every contender: PYTHONDONTWRITEBYTECODE is removed from the
children's environment and each contender is imported once first, so that .pyc files exist.
Then ``python -X importtime -c "import requests; import dynkube"`` shows what dynkube adds on top of
requests, module by module.

    python benchmarks/bench_import.py [--runs N] [--json PATH]
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

TARGET = 1.15  # import dynkube <= 1.15x import requests (issue 3)

CONTENDERS = {
    "dynkube": "import dynkube",
    "requests": "import requests",
    "kubernetes": "import kubernetes",
    "kr8s": "import kr8s",
    "lightkube": "import lightkube",
}

# Client construction from the same kubeconfig, as each library's documentation shows it.
CONSTRUCT = {
    "dynkube": "dynkube.Client(kubeconfig=KUBECONFIG, cache_dir=CACHE)",
    "requests": "requests.Session()",
    "kubernetes": "kubernetes.config.new_client_from_config(config_file=KUBECONFIG)",
    "kr8s": "kr8s.api(kubeconfig=KUBECONFIG)",
    "lightkube": "lightkube.Client(config=lightkube.KubeConfig.from_file(KUBECONFIG))",
}

# One import, then one construction; socket connections are counted from after the import on.
PROGRAM = """\
import time
c0, t0 = time.process_time(), time.perf_counter()
{statement}
t1, c1 = time.perf_counter(), time.process_time()
import socket, sys
connects = []
_connect = socket.socket.connect
def _counted(self, address):
    connects.append(address)
    return _connect(self, address)
socket.socket.connect = _counted
KUBECONFIG, CACHE = {kubeconfig!r}, {cache!r}
t2 = time.perf_counter()
{construct}
t3 = time.perf_counter()
print("{marker}" + repr((t1 - t0, t3 - t2, len(connects), len(sys.modules), c1 - c0)))
"""

IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def measure_once(name: str, kubeconfig: Path, cache: str, env: dict[str, str]) -> tuple[float, float, int, int, float]:
    program = PROGRAM.format(statement=CONTENDERS[name], construct=CONSTRUCT[name], kubeconfig=str(kubeconfig),
                             cache=cache, marker=_common.RESULT_MARKER)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env,
                          timeout=120, cwd=tempfile.gettempdir())
    for line in done.stdout.splitlines():
        if line.startswith(_common.RESULT_MARKER):
            return ast.literal_eval(line[len(_common.RESULT_MARKER):])
    raise RuntimeError(f"{name}: exit {done.returncode}: {done.stderr.strip()[-500:]}")


def importtime_breakdown(env: dict[str, str], runs: int) -> dict[str, Any]:
    """What ``import dynkube`` costs on top of an already imported ``requests``: per module
    (self time, median of ``runs``) and per top-level package (sum of self times)."""
    per_module: dict[str, list[int]] = defaultdict(list)
    top_children: dict[str, list[int]] = defaultdict(list)
    totals: list[int] = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import requests; import dynkube"],
                              capture_output=True, text=True, env=env, timeout=120, cwd=tempfile.gettempdir())
        lines = [m for m in map(IMPORTTIME_LINE.match, done.stderr.splitlines()) if m]
        # the lines after requests' own top-level line belong to `import dynkube`
        start = next(i for i, m in enumerate(lines) if m.group(4) == "requests" and len(m.group(3)) == 1) + 1
        for m in lines[start:]:
            self_us, cumulative_us, module = int(m.group(1)), int(m.group(2)), m.group(4)
            level = (len(m.group(3)) + 1) // 2  # importtime indents two spaces per nesting level
            per_module[module].append(self_us)
            if module == "dynkube" and level == 1:
                totals.append(cumulative_us)
            elif module.startswith("dynkube.") or level == 2:
                top_children[module].append(cumulative_us)
    modules = {name: _common.median(v) / 1e6 for name, v in per_module.items()}
    packages: dict[str, float] = defaultdict(float)
    for name, seconds in modules.items():
        packages[name.split(".")[0]] += seconds
    top = sorted(modules.items(), key=lambda kv: -kv[1])[:20]
    return {
        "runs": runs,
        "dynkube_on_top_of_requests": _common.median(totals) / 1e6 if totals else None,
        "modules_loaded": len(modules),
        "top_self": [{"module": n, "self": s} for n, s in top],
        "by_package": dict(sorted(packages.items(), key=lambda kv: -kv[1])),
        "dynkube_children_cumulative": {n: _common.median(v) / 1e6 for n, v in top_children.items()},
    }


def run(options: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = _common.kubeconfig_path()
    env = _common.child_env()
    runs = 5 if options.quick else options.runs
    samples: dict[str, list[tuple[float, float, int, int, float]]] = defaultdict(list)
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="dynkube-bench-import-") as cache:
        for name in CONTENDERS:  # warm-up: writes .pyc files, fills the OS page cache
            try:
                measure_once(name, kubeconfig, cache, env)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                errors[name] = str(exc)
        for _ in range(runs):
            for name in CONTENDERS:
                if name not in errors:
                    samples[name].append(measure_once(name, kubeconfig, cache, env))
    rows = []
    for name in CONTENDERS:
        if name in errors:
            rows.append({"name": name, "error": errors[name]})
            continue
        s = samples[name]
        rows.append({"name": name, "statement": CONTENDERS[name],
                     "import": _common.median(x[0] for x in s), "import_min": min(x[0] for x in s),
                     "import_cpu": _common.median(x[4] for x in s),
                     "construct": _common.median(x[1] for x in s), "connects": max(x[2] for x in s),
                     "modules": _common.median(x[3] for x in s), "construct_statement": CONSTRUCT[name]})
    imports = _common.table(
        f"import time (fresh interpreter, median of {runs}, bytecode caching on)", rows,
        [("import", "import", "s"), ("import_min", "min", "s"), ("import_cpu", "CPU", "s"),
         ("modules", "sys.modules", "n")],
        ratios=["import", "import_min", "import_cpu"], base="dynkube", floor="requests",
        notes=[f"target: import dynkube <= {TARGET}x import requests",
               "import = median wall time; min = fastest run; CPU = median process CPU time of the import "
               "(less sensitive to other load on the machine)",
               "PYTHONDONTWRITEBYTECODE removed from the children's environment after one warm-up import each, "
               "so every contender imports from .pyc files",
               "statements: " + "; ".join(f"{n}: `{s}`" for n, s in CONTENDERS.items())])
    construct = _common.table(
        "client construction from a kubeconfig (after import, same fresh interpreter)", rows,
        [("construct", "construct", "s"), ("connects", "socket connects", "n")],
        ratios=["construct"], base="dynkube", floor=None,
        notes=["statements: " + "; ".join(f"{n}: `{s}`" for n, s in CONSTRUCT.items()),
               "socket connects counts socket.connect calls during construction (0 = no network I/O)"])
    breakdown = importtime_breakdown(env, 3 if options.quick else 7)
    dynkube_row = next(r for r in rows if r["name"] == "dynkube")
    ratio = dynkube_row.get("import/floor")
    result = {"tables": [imports, construct], "importtime": breakdown, "errors": errors,
              "targets": {"import_vs_requests": {"target": TARGET, "ratio": ratio,
                                                 "met": ratio is not None and ratio <= TARGET,
                                                 "ratio_min": dynkube_row.get("import_min/floor"),
                                                 "ratio_cpu": dynkube_row.get("import_cpu/floor")},
                          "construct_no_network": {"connects": dynkube_row.get("connects"),
                                                   "met": dynkube_row.get("connects") == 0}}}
    print(render_breakdown(breakdown), flush=True)
    return result


def render_breakdown(b: dict[str, Any]) -> str:
    out = [f"== python -X importtime: what `import dynkube` adds after `import requests` "
           f"(median of {b['runs']}) ==",
           f"total: {_common.fmt_value(b['dynkube_on_top_of_requests'], 's')} in {b['modules_loaded']} modules",
           "by top-level package (sum of self times):"]
    out += [f"  {name:<28} {_common.fmt_value(s, 's')}" for name, s in list(b["by_package"].items())[:15]]
    out.append("slowest modules (self time):")
    out += [f"  {m['module']:<40} {_common.fmt_value(m['self'], 's')}" for m in b["top_self"][:15]]
    return "\n".join(out) + "\n"


def worker(argv: list[str]) -> None:
    raise SystemExit("bench_import has no worker mode; its children run `python -c` programs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=21, help="fresh interpreters per contender (default 21)")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_import", run, worker, add_arguments))
