"""A plain requests.Session authenticated from a kubeconfig's current context, with no dynkube code
involved: the reference client for tests that check the server itself, and the upstream side of the
fault proxy."""

from __future__ import annotations

import base64
from pathlib import Path

import requests
import yaml


def raw_session(kubeconfig_path: Path, files: Path) -> tuple[requests.Session, str]:
    """(session, server URL) for the current context; certificates are written under ``files``."""
    config = yaml.safe_load(kubeconfig_path.read_text())
    context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    session = requests.Session()
    session.trust_env = False
    if "certificate-authority-data" in cluster:
        (files / "ca.crt").write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        session.verify = str(files / "ca.crt")
    if "client-certificate-data" in user:
        (files / "c.crt").write_bytes(base64.b64decode(user["client-certificate-data"]))
        (files / "c.key").write_bytes(base64.b64decode(user["client-key-data"]))
        session.cert = (str(files / "c.crt"), str(files / "c.key"))
    if "token" in user:
        session.headers["Authorization"] = f"Bearer {user['token']}"
    return session, cluster["server"].rstrip("/")
