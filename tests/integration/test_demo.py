"""`make demo` keeps working: the tour runs against the test cluster and shows each step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT


def test_demo_tour_runs(kubeconfig_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "DYNKUBE_DEMO_KUBECONFIG": str(kubeconfig_path)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "'gz' -> gizmos.fixtures.dynkube.io/v1" in out
    assert "refused before sending" in out and "'huge' is not one of" in out
    assert "watch saw: ADDED alpha; ADDED beta; MODIFIED alpha; MODIFIED beta; DELETED alpha" in out
    assert "  + beta (initial list)" in out and "  ~ beta: size large -> small" in out and "  - beta" in out
    assert "cache now holds 0 gizmos" in out
    assert "$ dynkube get gizmos" in out and "gamma" in out.split("$ dynkube get gizmos")[1]
    assert "gizmos" in out.split("$ dynkube tree")[1]
    assert "exported " in out.split("$ dynkube export")[1] and "/fixtures.dynkube.io/Gizmo/gamma.yaml" in out
    assert "FIELD: replicas <integer>" in out.split("$ dynkube --snapshot")[1]
    assert "Name:         gamma" in out.split("$ dynkube describe gizmo gamma")[1]
    tree = out.split("$ dynkube tree deployment shop")[1]
    assert "Deployment/shop" in tree and "└─ReplicaSet/shop-" in tree and "Pod/shop-" in tree
    assert "-  replicas: 2" in out.split("$ dynkube diff")[1] and "+  replicas: 3" in out
    inside = out.split("=== 10. Inside a pod")[1]
    assert "envtest: hello from a kwok node" in inside.split("$ dynkube logs deploy/shop")[1]
    assert "stdout 'hello from the container', exit code 3" in inside
    assert "(an echo): sent b'ping\\n', got b'ping\\n'" in inside
    assert "scripts/envtest down" in out
