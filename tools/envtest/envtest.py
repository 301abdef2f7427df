"""A real local Kubernetes control plane for tests and the demo: etcd + kube-apiserver +
kube-controller-manager + kube-scheduler built from pinned upstream Go modules, and kwok serving
fake nodes (pod lifecycles) behind kubelet-streaming (the nodes' kubelet API: container logs on the
kubelet's own log reader, exec, attach and port-forward on its streaming library, the rest proxied to
kwok), on 127.0.0.1.

    python3 tools/envtest/envtest.py up|down|status|kubeconfig

`up` builds the binaries if needed (tools/envtest/build), generates a CA, serving and client
certificates and service-account keys, starts the processes on free ports with a fresh data
directory, waits for /readyz and writes a kubeconfig with two contexts for the same admin user:
`envtest` (client certificate, current) and `envtest-token` (bearer token). A second token user,
`nobody`, has no RBAC rights (for Forbidden tests). It then starts the scheduler, kwok and
kubelet-streaming, creates the nodes and waits until they are Ready. State lives in .envtest/run/ (git-ignored).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / ".envtest" / "run"
STATE_FILE = RUN_DIR / "state.json"
KUBECONFIG = RUN_DIR / "kubeconfig"
ADMIN_TOKEN = "envtest-admin-token"
NOBODY_TOKEN = "envtest-nobody-token"
TLS_SERVER_NAME = "envtest.dynkube.local"
READY_TIMEOUT = 120.0
NODES = ("envtest-node-1", "envtest-node-2")
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")  # the nodes kwok manages carry it
KWOK_STAGES = ("node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
               "pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml")
NODE_LEASE_SECONDS = 40  # kwok renews each node's Lease; the node lifecycle controller reads it
POD_CIDR = "10.244.0.0/16"  # kwok's pod IPs; apart from the service range 10.0.0.0/24
# The lines every container's log on the kwok nodes starts with (CRI log format; kubelet-streaming
# appends what an attached client writes to the container's stdin).
CONTAINER_LOG_LINES = ("envtest: container started", "envtest: hello from a kwok node", "envtest: last line")
CONTAINER_LOG_SEED = "container-log-seed.log"  # in .envtest/run/
CONTAINER_LOG_DIR = "logs"  # in .envtest/run/: {namespace}_{pod}_{container}.log


class EnvtestError(Exception):
    """A failure to report as one readable line."""


def main(argv: list[str]) -> int:
    commands = {"up": up, "down": down, "status": status, "kubeconfig": kubeconfig}
    if len(argv) != 1 or argv[0] not in commands:
        print("usage: envtest up|down|status|kubeconfig", file=sys.stderr)
        return 2
    RUN_DIR.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (RUN_DIR.parent / "envtest.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent `up`s (parallel test runs) take turns
            return commands[argv[0]]()
    except EnvtestError as exc:
        print(f"envtest: {exc}", file=sys.stderr)
        return 1


# ---- commands ---------------------------------------------------------------------------

def up() -> int:
    state = _read_state()
    if state and _all_alive(state) and _ready(state):
        print(f"envtest: already up at {state['server']}")
        print(KUBECONFIG)
        return 0
    if state:
        _stop(state)
    bin_dir = _build()
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    RUN_DIR.mkdir(parents=True, mode=0o700)
    certs = _make_certificates(RUN_DIR / "pki")
    state = {"pids": {}, "bin_dir": str(bin_dir)}
    try:
        _start_all(state, bin_dir, certs)
    except BaseException:
        _stop(state)
        raise
    print(f"envtest: up at {state['server']} (logs in {RUN_DIR})")
    print(KUBECONFIG)
    return 0


def down() -> int:
    state = _read_state()
    if state:
        _stop(state)
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    print("envtest: down")
    return 0


def status() -> int:
    state = _read_state()
    if state and _all_alive(state) and _ready(state):
        print(f"envtest: up at {state['server']}, kubeconfig {KUBECONFIG}")
        return 0
    print("envtest: down" if not state else "envtest: not healthy (run `scripts/envtest down` then `up`)")
    return 3


def kubeconfig() -> int:
    if not _read_state():
        raise EnvtestError("not up; run `scripts/envtest up` first")
    print(KUBECONFIG)
    return 0


# ---- build and certificates -------------------------------------------------------------

def _build() -> Path:
    result = subprocess.run([str(ROOT / "tools" / "envtest" / "build")], stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise EnvtestError("building the control plane failed (see the messages above)")
    return Path(result.stdout.strip().splitlines()[-1])


def _openssl(*args: str) -> None:
    if shutil.which("openssl") is None:
        raise EnvtestError("'openssl' is not on PATH; install it (Debian: apt-get install openssl)")
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise EnvtestError(f"openssl {args[0]} failed: {result.stderr.strip()[-300:]}")


def _make_certificates(pki: Path) -> dict[str, Path]:
    pki.mkdir(mode=0o700)
    p = {name: pki / name for name in ("ca.key", "ca.crt", "server.key", "server.crt", "admin.key", "admin.crt",
                                       "kubelet.key", "kubelet.crt", "kubelet-client.key", "kubelet-client.crt",
                                       "sa.key", "sa.pub", "tokens.csv")}
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(p["ca.key"]), "-out", str(p["ca.crt"]), "-days", "30", "-subj", "/CN=dynkube-envtest-ca")
    _signed_cert(pki, "server", "/CN=kube-apiserver",
                 "subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
                 f"DNS:{TLS_SERVER_NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth")
    _signed_cert(pki, "admin", "/O=system:masters/CN=admin", "extendedKeyUsage=clientAuth")
    # The nodes' kubelet API (kwok); the API server verifies it with the CA
    _signed_cert(pki, "kubelet", "/CN=envtest-kwok-kubelet",
                 "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
    _signed_cert(pki, "kubelet-client", "/CN=kube-apiserver-kubelet-client", "extendedKeyUsage=clientAuth")
    _openssl("genrsa", "-out", str(p["sa.key"]), "2048")
    _openssl("rsa", "-in", str(p["sa.key"]), "-pubout", "-out", str(p["sa.pub"]))
    p["tokens.csv"].write_text(f'{ADMIN_TOKEN},admin,admin-uid,"system:masters"\n{NOBODY_TOKEN},nobody,nobody-uid\n')
    return p


def _signed_cert(pki: Path, name: str, subject: str, extensions: str) -> None:
    key, csr, crt, ext = (pki / f"{name}.{s}" for s in ("key", "csr", "crt", "ext"))
    ext.write_text(extensions + "\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(csr), "-subj", subject)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
             "-CAcreateserial", "-days", "30", "-extfile", str(ext), "-out", str(crt))


# ---- processes --------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(state: dict, name: str, argv: list[str], cwd: Path | None = None) -> None:
    log = RUN_DIR / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=cwd)
    state["pids"][name] = proc.pid
    _write_state(state)


def _start_all(state: dict, bin_dir: Path, certs: dict[str, Path]) -> None:
    etcd_port, peer_port, api_port, kcm_port, sched_port, kwok_port, kubelet_port = (_free_port() for _ in range(7))
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    state.update(server=f"https://127.0.0.1:{api_port}", etcd=etcd_url)
    _spawn(state, "etcd", [
        str(bin_dir / "etcd"), "--data-dir", str(RUN_DIR / "etcd-data"),
        "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
        "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
        "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
        "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
        "--unsafe-no-fsync", "--log-level", "warn"])
    _wait_for(state, "etcd", lambda: _http_ok(f"{etcd_url}/health"), 30)
    _spawn(state, "kube-apiserver", [
        str(bin_dir / "kube-apiserver"), f"--etcd-servers={etcd_url}",
        f"--cert-dir={RUN_DIR / 'apiserver-certs'}",
        f"--tls-cert-file={certs['server.crt']}", f"--tls-private-key-file={certs['server.key']}",
        f"--client-ca-file={certs['ca.crt']}", f"--token-auth-file={certs['tokens.csv']}",
        f"--secure-port={api_port}", "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
        "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={certs['sa.pub']}", f"--service-account-signing-key-file={certs['sa.key']}",
        "--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount",
        f"--kubelet-certificate-authority={certs['ca.crt']}",  # kwok's serving certificate is the CA's
        f"--kubelet-client-certificate={certs['kubelet-client.crt']}",
        f"--kubelet-client-key={certs['kubelet-client.key']}",
        "--endpoint-reconciler-type=none"])  # 127.0.0.1 may not be published as the kubernetes endpoint
    _wait_for(state, "kube-apiserver", lambda: _apiserver_ready(state["server"], certs["ca.crt"]), READY_TIMEOUT)
    _write_kubeconfig(state["server"], certs)
    _spawn(state, "kube-controller-manager", [
        str(bin_dir / "kube-controller-manager"), f"--kubeconfig={KUBECONFIG}",
        f"--authentication-kubeconfig={KUBECONFIG}", f"--authorization-kubeconfig={KUBECONFIG}",
        f"--secure-port={kcm_port}", "--bind-address=127.0.0.1", "--leader-elect=false",
        f"--service-account-private-key-file={certs['sa.key']}", f"--root-ca-file={certs['ca.crt']}",
        "--controllers=*,-nodeipam"])  # kwok gives pods their IPs; no node needs a podCIDR
    _wait_for(state, "kube-controller-manager", lambda: _http_ok(f"https://127.0.0.1:{kcm_port}/healthz",
                                                                   insecure=True), 60)
    _spawn(state, "kube-scheduler", [
        str(bin_dir / "kube-scheduler"), f"--kubeconfig={KUBECONFIG}",
        f"--authentication-kubeconfig={KUBECONFIG}", f"--authorization-kubeconfig={KUBECONFIG}",
        f"--secure-port={sched_port}", "--bind-address=127.0.0.1", "--leader-elect=false"])
    _wait_for(state, "kube-scheduler", lambda: _http_ok(f"https://127.0.0.1:{sched_port}/healthz",
                                                         insecure=True), 60)
    state.update(kwok=f"http://127.0.0.1:{kwok_port}", kubelet=f"https://127.0.0.1:{kubelet_port}")
    _start_kwok(state, bin_dir, certs, kwok_port, kubelet_port)
    _write_state(state)


def _start_kwok(state: dict, bin_dir: Path, certs: dict[str, Path], port: int, kubelet_port: int) -> None:
    """Start kwok on 127.0.0.1:`port` (its kubelet API, TLS and plain HTTP) and kubelet-streaming on
    127.0.0.1:`kubelet_port`, the port the nodes advertise; create the nodes and wait until they are Ready.
    The nodes advertise 127.0.0.1: nothing here listens on or sends to another address."""
    stage_dir = _kwok_module_dir() / "kustomize" / "stage"
    work = RUN_DIR / "kwok"
    work.mkdir()
    key, value = KWOK_NODE_ANNOTATION
    _spawn(state, "kwok", [
        str(bin_dir / "kwok"), f"--kubeconfig={KUBECONFIG}",
        *(f"--config={stage_dir / stage}" for stage in KWOK_STAGES),
        "--manage-all-nodes=false", f"--manage-nodes-with-annotation-selector={key}={value}",
        "--node-ip=127.0.0.1", f"--node-port={kubelet_port}", f"--server-address=127.0.0.1:{port}",
        f"--tls-cert-file={certs['kubelet.crt']}", f"--tls-private-key-file={certs['kubelet.key']}",
        f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}", f"--cidr={POD_CIDR}"], cwd=work)
    _wait_for(state, "kwok", lambda: _http_ok(f"http://127.0.0.1:{port}/healthz"), 60)
    _spawn(state, "kubelet-streaming", [
        str(bin_dir / "kubelet-streaming"), f"-address=127.0.0.1:{kubelet_port}",
        f"-tls-cert-file={certs['kubelet.crt']}", f"-tls-private-key-file={certs['kubelet.key']}",
        f"-kwok=http://127.0.0.1:{port}", f"-exec-dir={work}", f"-log-dir={_container_log_dir()}",
        f"-log-seed={_container_log_seed()}"], cwd=work)
    _wait_for(state, "kubelet-streaming", lambda: _http_ok(f"https://127.0.0.1:{kubelet_port}/healthz",
                                                           ca=certs["ca.crt"]), 60)  # its own and kwok's health
    for name in NODES:
        _api(state["server"], "POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": name, "annotations": {key: value},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                       "type": "kwok"}}})
    _wait_for(state, "kwok", lambda: all(_node_ready(state["server"], name) for name in NODES), 60)


def _kwok_module_dir() -> Path:
    """The pinned kwok module in Go's module cache (downloaded by the build): its stage files are read from there."""
    result = subprocess.run(["go", "mod", "download", "-json", "sigs.k8s.io/kwok"],
                            cwd=ROOT / "tools" / "envtest" / "kwok", capture_output=True, text=True)
    if result.returncode != 0:
        raise EnvtestError(f"finding the kwok module failed: {result.stderr.strip()[-300:]}")
    return Path(json.loads(result.stdout)["Dir"])


def _container_log_dir() -> Path:
    """The directory of the containers' log files (kubelet-streaming creates each on first use)."""
    logs = RUN_DIR / CONTAINER_LOG_DIR
    logs.mkdir()
    return logs


def _container_log_seed() -> Path:
    """The file every container's log starts with: CONTAINER_LOG_LINES, timestamped one second apart
    just before now (so `--tail`, `--since-time` and `--timestamps` have something to act on)."""
    seed = RUN_DIR / CONTAINER_LOG_SEED
    start = time.time() - len(CONTAINER_LOG_LINES)
    seed.write_text("".join(
        f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(start + i))}.000000000Z stdout F {line}\n"
        for i, line in enumerate(CONTAINER_LOG_LINES)))
    return seed


def _node_ready(server: str, name: str) -> bool:
    """Ready, and without the taints that keep the scheduler away (the node lifecycle controller removes them)."""
    node = _api(server, "GET", f"/api/v1/nodes/{name}")
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in node.get("status", {}).get("conditions", []))
    return ready and not any(t["effect"] == "NoSchedule" for t in node["spec"].get("taints", []))


def _api(server: str, method: str, path: str, body: dict | None = None) -> dict:
    """One admin request to the API server; the decoded JSON response."""
    ctx = ssl.create_default_context(cafile=str(RUN_DIR / "pki" / "ca.crt"))
    request = urllib.request.Request(f"{server}{path}", method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10, context=ctx) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise EnvtestError(f"{method} {path} failed: {exc.code} {exc.read().decode()[:300]}") from None


def _wait_for(state: dict, name: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(state["pids"][name]):
            raise EnvtestError(f"{name} exited during start-up; read {RUN_DIR / (name + '.log')}")
        if check():
            return
        time.sleep(0.3)
    raise EnvtestError(f"{name} not ready after {timeout:.0f}s; read {RUN_DIR / (name + '.log')}")


def _http_ok(url: str, *, insecure: bool = False, ca: Path | None = None, token: str | None = None) -> bool:
    ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    if insecure:
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=2, context=ctx if url.startswith("https") else None) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _apiserver_ready(server: str, ca: Path) -> bool:
    return _http_ok(f"{server}/readyz", ca=ca, token=ADMIN_TOKEN)


def _write_kubeconfig(server: str, certs: dict[str, Path]) -> None:
    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "envtest",
        "clusters": [{"name": "envtest",
                      "cluster": {"server": server, "certificate-authority-data": b64(certs["ca.crt"])}}],
        "users": [
            {"name": "admin-cert", "user": {"client-certificate-data": b64(certs["admin.crt"]),
                                            "client-key-data": b64(certs["admin.key"])}},
            {"name": "admin-token", "user": {"token": ADMIN_TOKEN}},
            {"name": "nobody", "user": {"token": NOBODY_TOKEN}},
        ],
        "contexts": [
            {"name": "envtest", "context": {"cluster": "envtest", "user": "admin-cert", "namespace": "default"}},
            {"name": "envtest-token", "context": {"cluster": "envtest", "user": "admin-token", "namespace": "default"}},
            {"name": "envtest-nobody", "context": {"cluster": "envtest", "user": "nobody", "namespace": "default"}},
        ],
    }
    fd = os.open(KUBECONFIG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(config, f, indent=2)  # JSON is valid YAML; kubectl reads it


def _alive(pid: int) -> bool:
    """True while `pid` runs: our own child, or (from an earlier `up`) a process of our .envtest binaries."""
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)  # our child: (0, 0) while running, reaped otherwise
    except ChildProcessError:
        pass
    try:
        return b".envtest" in Path(f"/proc/{pid}/cmdline").read_bytes()  # not a reused pid
    except OSError:
        return False


def _all_alive(state: dict) -> bool:
    return bool(state.get("pids")) and all(_alive(pid) for pid in state["pids"].values())


def _ready(state: dict) -> bool:
    return "server" in state and _apiserver_ready(state["server"], RUN_DIR / "pki" / "ca.crt")


def _stop(state: dict) -> None:
    pids = list(reversed(state.get("pids", {}).values()))
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _read_state() -> dict | None:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None


def _write_state(state: dict) -> None:
    STATE_FILE.write_text(json.dumps(state, indent=2))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
