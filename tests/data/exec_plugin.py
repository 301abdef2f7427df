#!/usr/bin/env python3
"""A client-go exec credential plugin for tests: prints an ExecCredential chosen by env vars.

Answers with the apiVersion KUBERNETES_EXEC_INFO asks for. An argument --token=VALUE sets the token;
so do these env vars (all optional):
  EXEC_PLUGIN_TOKEN            token to return; "{count}" becomes the run number (default "exec-token-{count}")
  EXEC_PLUGIN_TOKENS           comma-separated tokens, one per run (run 1 the first; the last repeats);
                               wins over EXEC_PLUGIN_TOKEN and --token
  EXEC_PLUGIN_CERT_FILE        PEM file returned as status.clientCertificateData
  EXEC_PLUGIN_KEY_FILE         PEM file returned as status.clientKeyData
  EXEC_PLUGIN_EXPIRY_SECONDS   set status.expirationTimestamp to now + this many seconds (may be negative)
  EXEC_PLUGIN_COUNTER_FILE     file that counts runs (one line appended per run)
  EXEC_PLUGIN_INFO_FILE        file to copy KUBERNETES_EXEC_INFO into
  EXEC_PLUGIN_STDERR           text to write to stderr
  EXEC_PLUGIN_MODE             ok (default) | fail (exit 3) | garbage | hang | hang-with-child | wrong-version
                               | no-status
  EXEC_PLUGIN_CHILD_PID_FILE   hang-with-child: where the pid of the child it starts (and that hangs too) is
                               written
"""

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone


def count_run() -> int:
    path = os.environ.get("EXEC_PLUGIN_COUNTER_FILE")
    if not path:
        return 1
    with open(path, "a+", encoding="utf-8") as stream:
        stream.write("run\n")
        stream.seek(0)
        return len(stream.read().splitlines())


def credential(api_version: str, count: int) -> dict:
    status = {}
    token = os.environ.get("EXEC_PLUGIN_TOKEN", "exec-token-{count}")
    for arg in sys.argv[1:]:
        if arg.startswith("--token="):
            token = arg.removeprefix("--token=")
    if os.environ.get("EXEC_PLUGIN_TOKENS"):
        tokens = os.environ["EXEC_PLUGIN_TOKENS"].split(",")
        token = tokens[min(count, len(tokens)) - 1]
    token = token.replace("{count}", str(count))
    if token:
        status["token"] = token
    if os.environ.get("EXEC_PLUGIN_CERT_FILE"):
        with open(os.environ["EXEC_PLUGIN_CERT_FILE"], encoding="utf-8") as cert:
            status["clientCertificateData"] = cert.read()
        with open(os.environ["EXEC_PLUGIN_KEY_FILE"], encoding="utf-8") as key:
            status["clientKeyData"] = key.read()
    if os.environ.get("EXEC_PLUGIN_EXPIRY_SECONDS"):
        expires = datetime.now(timezone.utc) + timedelta(seconds=float(os.environ["EXEC_PLUGIN_EXPIRY_SECONDS"]))
        status["expirationTimestamp"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"apiVersion": api_version, "kind": "ExecCredential", "status": status}


def main() -> int:
    info_text = os.environ.get("KUBERNETES_EXEC_INFO", "{}")
    if os.environ.get("EXEC_PLUGIN_INFO_FILE"):
        with open(os.environ["EXEC_PLUGIN_INFO_FILE"], "w", encoding="utf-8") as stream:
            stream.write(info_text)
    api_version = json.loads(info_text).get("apiVersion", "client.authentication.k8s.io/v1")
    if os.environ.get("EXEC_PLUGIN_STDERR"):
        sys.stderr.write(os.environ["EXEC_PLUGIN_STDERR"] + "\n")
    mode = os.environ.get("EXEC_PLUGIN_MODE", "ok")
    output = credential(api_version, count_run())
    if mode == "fail":
        print(json.dumps(output))  # a secret on stdout that must never reach an error message
        sys.stderr.write("plugin failed: could not log in\n")
        return 3
    if mode == "garbage":
        print("this is not json " + output["status"].get("token", ""))
    elif mode == "hang":
        time.sleep(3600)
    elif mode == "hang-with-child":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        pid_file = os.environ["EXEC_PLUGIN_CHILD_PID_FILE"]
        with open(pid_file + ".tmp", "w", encoding="utf-8") as stream:
            stream.write(str(child.pid))
        os.replace(pid_file + ".tmp", pid_file)
        time.sleep(3600)
    elif mode == "wrong-version":
        output["apiVersion"] = "client.authentication.k8s.io/v1alpha1"
        print(json.dumps(output))
    elif mode == "no-status":
        del output["status"]
        print(json.dumps(output))
    else:
        print(json.dumps(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
