"""Credential providers: who the client is, as request headers and a TLS client certificate.

Every class here satisfies ``Credentials``, the Protocol the transport uses. Secrets live only in private attributes:
reprs and messages say where a credential came from, never its value. Exec credential plugins run
here; what they return is cached per (plugin configuration, cluster) and shared by every Config in
the process, as client-go does.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple, Protocol

from dynkube.errors import ConfigError

log = logging.getLogger(__name__)

TOKEN_FILE_REREAD_SECONDS = 60.0
"""A token file is re-read at most this often (and at once on refresh()), as client-go does."""

EXEC_TIMEOUT_SECONDS = 60.0
"""A non-interactive exec plugin that runs longer is killed (an interactive one waits for its person)."""

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")

CERTIFICATE_LABELS = frozenset({"CERTIFICATE"})
PRIVATE_KEY_LABELS = frozenset({"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"})

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_HEADER_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&'*+-.^_`|~")
_STDERR_TAIL_CHARS = 2000


class Credentials(Protocol):
    """Who the client is. The transport asks for these on every request, so they may rotate: first
    ``headers()``, then ``client_certificate()``, from the same thread."""

    def headers(self) -> Mapping[str, str | list[str]]:
        """Headers to add to a request (Authorization, Impersonate-*); may re-read a token file. A list
        is sent as one header line per value (Impersonate-Group), as client-go does."""
        ...

    def client_certificate(self) -> tuple[bytes, bytes] | None:
        """(certificate PEM, key PEM) for TLS client auth, or None."""
        ...

    def refresh(self) -> bool:
        """Called after a 401: get fresh credentials; True if they changed and a retry makes sense."""
        ...


class NoCredentials:
    """Anonymous access."""

    def headers(self) -> dict[str, str]:
        return {}

    def client_certificate(self) -> tuple[bytes, bytes] | None:
        return None

    def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NoCredentials()"


class Origin(NamedTuple):
    """Where a setting was configured, so that errors name the file, the entry and the key."""

    path: str | None  # the kubeconfig (or other) file, None when given in code
    label: str  # e.g. "user 'alice' (context 'dev')"
    key_prefix: str = ""  # where the entry is in the file, e.g. "users[alice].user."
    field_prefix: str = ""  # where a nested mapping is in the entry, e.g. "exec."

    @property
    def where(self) -> str:
        return f"{self.path}: {self.label}" if self.path else self.label

    def nested(self, name: str) -> Origin:
        """The origin of a mapping inside this entry (such as ``exec``)."""
        return Origin(self.path, self.label, self.key_prefix, f"{self.field_prefix}{name}.")

    def error(self, key: str, problem: str) -> ConfigError:
        """A ConfigError for ``key`` of this entry; ``problem`` must not hold a secret."""
        key = self.field_prefix + key
        return ConfigError(f"{self.where}: {key}: {problem}", path=self.path, key=self.key_prefix + key)


# --- PEM and header checks ---------------------------------------------------------------------


def pem_problem(data: bytes, labels: frozenset[str]) -> str | None:
    """Why ``data`` is not PEM with a block labelled one of ``labels``; None when it is usable."""
    found = []
    for match in _PEM_BLOCK.finditer(data):
        label = match.group(1).decode()
        lines = match.group(2).splitlines()
        if any(b":" in line and b"ENCRYPTED" in line for line in lines):  # Proc-Type: 4,ENCRYPTED
            return f"holds an encrypted {label} (not supported, as in kubectl)"
        body = b"".join(line.strip() for line in lines if b":" not in line)
        try:
            if not base64.b64decode(body, validate=True):
                return f"holds an empty {label} PEM block"
        except binascii.Error:
            return f"holds a {label} PEM block that is not valid base64"
        found.append(label)
    if not labels.intersection(found):
        return f"is not PEM data with a {min(labels, key=len)} block"  # the shortest label is the generic one
    return None


def decode_base64(value: str) -> bytes:
    """Standard base64 as kubeconfig *-data fields hold it; whitespace is ignored. Raises ValueError."""
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except binascii.Error:
        raise ValueError("not valid base64") from None


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot go into an Authorization header; None when it can."""
    if not token:
        return "is empty"
    if _CONTROL.search(token):
        return "contains control characters or line breaks"
    if not token.isascii():
        return "contains non-ASCII characters"
    return None


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be an HTTP header value (Go's rule, so kubectl's: no control character
    but tab; and requests': no leading white space); None when it can."""
    if _CONTROL.search(value.replace("\t", "")):
        return "contains control characters or line breaks"
    if value[:1].isspace():
        return "starts with white space"
    return None


def _escape_header_key(key: str) -> str:
    """Percent-encode what may not appear in an HTTP header name (for Impersonate-Extra-<key>)."""
    return "".join(c if c in _HEADER_TOKEN_CHARS else "".join(f"%{b:02X}" for b in c.encode()) for c in key)


def _printable(text: str) -> str:
    """Text from a plugin, stripped of terminal escape codes and control characters."""
    return _CONTROL_BUT_LINES.sub("", _ANSI.sub("", text))


# --- static credentials ------------------------------------------------------------------------


class TokenCredentials:
    """A bearer token: static, or read from a file re-read at most every 60 s and on refresh().

    When both are given the file wins whenever it can be read, as in client-go. refresh() answers
    for the token the calling thread last sent: when several requests fail with the old token at
    once, each of them learns that a retry makes sense, not only the first to re-read the file.
    """

    def __init__(self, token: str | None = None, token_file: str | None = None, *, origin: Origin) -> None:
        if (token is not None or not token_file) and (problem := token_problem(token or "")):
            raise origin.error("token", problem)
        self._token = token
        self._file = token_file
        self._origin = origin
        self._lock = threading.Lock()
        self._file_token: str | None = None
        self._read_at = 0.0
        self._sent = threading.local()  # .token: the token this thread last put in a request
        if token_file:
            self._read_file()

    def headers(self) -> dict[str, str]:
        token = self._current()
        self._sent.token = token
        return {"Authorization": f"Bearer {token}"}

    def client_certificate(self) -> tuple[bytes, bytes] | None:
        return None

    def refresh(self) -> bool:
        """Re-read the token file now; True if the token differs from the one this thread last sent."""
        if not self._file:
            return False
        with self._lock:
            before = self._file_token or self._token
            self._read_file()
            token = self._file_token or self._token
        return token != getattr(self._sent, "token", before)

    def _current(self) -> str:
        with self._lock:
            if self._file and time.monotonic() - self._read_at >= TOKEN_FILE_REREAD_SECONDS:
                self._read_file()
            token = self._file_token or self._token
        assert token is not None  # the constructor guarantees one of them
        return token

    def _read_file(self) -> None:
        """Read the token file; when that fails keep the token we had, if there is one."""
        assert self._file is not None
        self._read_at = time.monotonic()
        try:
            self._file_token = _read_token_file(self._file, self._origin)
        except ConfigError as err:
            if self._file_token is None and self._token is None:
                raise
            log.warning("%s; using the token read before", err)

    def __repr__(self) -> str:
        source = f"tokenFile {self._file}" if self._file else f"token in {self._origin.where}"
        return f"TokenCredentials(source={source})"


def _read_token_file(path: str, origin: Origin) -> str:
    try:
        with open(path, encoding="utf-8") as stream:
            token = stream.read().strip()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise origin.error("tokenFile", f"cannot read {path}: {reason}") from None
    if problem := token_problem(token):
        raise origin.error("tokenFile", f"the token in {path} {problem}")
    return token


class BasicCredentials:
    """HTTP basic authentication (username/password in kubeconfig)."""

    def __init__(self, username: str, password: str, *, origin: Origin) -> None:
        self._username = username
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self._origin = origin

    def headers(self) -> dict[str, str]:
        return {"Authorization": self._header}

    def client_certificate(self) -> tuple[bytes, bytes] | None:
        return None

    def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"BasicCredentials(username={self._username!r}, source={self._origin.where})"


class ClientCertificateCredentials:
    """A TLS client certificate and its private key, as PEM bytes."""

    def __init__(self, certificate: bytes, key: bytes, *, source: str) -> None:
        self._pair = (certificate, key)
        self._source = source

    def headers(self) -> dict[str, str]:
        return {}

    def client_certificate(self) -> tuple[bytes, bytes] | None:
        return self._pair

    def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"ClientCertificateCredentials(source={self._source})"


class Impersonation(NamedTuple):
    """Act as another user (kubeconfig ``as``, ``as-uid``, ``as-groups``, ``as-user-extra``)."""

    user: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # (key, value) pairs; a key with several values repeats

    def headers(self) -> dict[str, str | list[str]]:
        """The Impersonate-* headers; the groups, and the values of each extra key, as lists: one header
        line per value, as client-go sends them (the server reads every line)."""
        headers: dict[str, str | list[str]] = {"Impersonate-User": self.user}
        if self.uid:
            headers["Impersonate-Uid"] = self.uid
        if self.groups:
            headers["Impersonate-Group"] = list(self.groups)
        extra: dict[str, list[str]] = {}
        for key, value in self.extra:
            extra.setdefault("Impersonate-Extra-" + _escape_header_key(key), []).append(value)
        headers.update(extra)
        return headers


class CombinedCredentials:
    """Several credentials at once (a client certificate with a token), plus impersonation."""

    def __init__(self, parts: Sequence[Credentials], impersonation: Impersonation | None = None) -> None:
        self._parts = tuple(parts)
        self._impersonation = impersonation

    def headers(self) -> dict[str, str | list[str]]:
        headers: dict[str, str | list[str]] = {}
        for part in self._parts:
            headers.update(part.headers())
        if self._impersonation:
            headers.update(self._impersonation.headers())
        return headers

    def client_certificate(self) -> tuple[bytes, bytes] | None:
        return next((pair for part in self._parts if (pair := part.client_certificate())), None)

    def refresh(self) -> bool:
        changed = [part.refresh() for part in self._parts]  # every part gets its chance
        return any(changed)

    def __repr__(self) -> str:
        inner = ", ".join(repr(part) for part in self._parts)
        if self._impersonation:
            inner += f"{', ' if inner else ''}impersonate={self._impersonation.user!r}"
        return f"CombinedCredentials({inner})"


def may_block(credentials: Credentials) -> bool:
    """False when ``headers()``, ``client_certificate()`` and ``refresh()`` of ``credentials`` return
    at once, reading no file and running no process: anonymous access, basic auth, a static token, a
    client certificate held in memory, and combinations of them (with impersonation). True for a
    token file, an exec plugin and any credentials this module does not know. An asyncio transport
    runs the ones that may block on a worker thread."""
    if isinstance(credentials, CombinedCredentials):
        return any(may_block(part) for part in credentials._parts)
    if isinstance(credentials, TokenCredentials):
        return bool(credentials._file)
    return not isinstance(credentials, (NoCredentials, BasicCredentials, ClientCertificateCredentials))


# --- exec credential plugins -------------------------------------------------------------------


class InteractiveMode(enum.StrEnum):
    """Whether an exec plugin may talk to the person at the terminal (exec ``interactiveMode``)."""

    NEVER = "Never"
    IF_AVAILABLE = "IfAvailable"
    ALWAYS = "Always"


class ExecSpec(NamedTuple):
    """One exec plugin configuration; equal specs share cached credentials."""

    command: str
    api_version: str
    args: tuple[str, ...] = ()  # args and env may hold client secrets: never in the repr
    env: tuple[tuple[str, str], ...] = ()
    interactive_mode: InteractiveMode = InteractiveMode.IF_AVAILABLE
    install_hint: str = ""
    cluster_json: str | None = None  # spec.cluster when provideClusterInfo

    def __repr__(self) -> str:
        return (f"ExecSpec(command={self.command!r}, api_version={self.api_version!r}, "
                f"interactive_mode={self.interactive_mode})")


class _ExecResult(NamedTuple):
    token: str | None
    certificate: tuple[bytes, bytes] | None
    expires: datetime | None

    def expired(self) -> bool:
        return self.expires is not None and datetime.now(timezone.utc) >= self.expires

    def __repr__(self) -> str:
        return f"_ExecResult(expires={self.expires})"  # never the token or key


class _ExecPlugin:
    """Runs one exec plugin and keeps what it printed until it expires or a 401 asks again."""

    def __init__(self, spec: ExecSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._result: _ExecResult | None = None

    def current(self, origin: Origin) -> _ExecResult:
        with self._lock:
            if self._result is None or self._result.expired():
                self._result = self._run(origin)
            return self._result

    def rerun(self, origin: Origin, used: _ExecResult | None) -> bool:
        """After a 401 with the credentials ``used``: run the plugin again, unless another request
        already replaced them (as client-go does); True if there are new credentials to retry with."""
        with self._lock:
            if used is not None and self._result is not used:
                return True
            old = self._result
            self._result = self._run(origin)
            return old is None or (old.token, old.certificate) != (self._result.token, self._result.certificate)

    def _run(self, origin: Origin) -> _ExecResult:
        import subprocess  # deferred: most programs never run a plugin, and `import dynkube` should stay cheap

        interactive = self._interactive(origin)
        argv = [self._executable(origin), *self.spec.args]
        log.debug("running exec credential plugin %s for %s", self.spec.command, origin.where)
        timeout = None if interactive else EXEC_TIMEOUT_SECONDS
        try:
            returncode, stdout, stderr = _run_to_end(argv, self._environment(interactive), interactive, timeout)
        except subprocess.TimeoutExpired as err:
            raise self._error(origin, f"did not finish within {timeout:g} s", err.stderr) from None
        except OSError as err:
            raise self._error(origin, f"could not be started: {err.strerror}", None) from None
        if returncode != 0:
            raise self._error(origin, f"exited with status {returncode}", stderr)
        if stderr:
            log.warning("exec plugin %s: %s", self.spec.command, _tail(stderr))
        return _parse_exec_output(stdout, self.spec.api_version, origin, self.spec.command)

    def _error(self, origin: Origin, problem: str, stderr: bytes | None) -> ConfigError:
        """Failure message with the plugin's stderr tail; its stdout holds secrets and is never shown."""
        tail = _tail(stderr) if stderr else ""
        return origin.error("exec", f"plugin {self.spec.command!r} {problem}" + (f"; stderr: {tail}" if tail else ""))

    def _interactive(self, origin: Origin) -> bool:
        mode = self.spec.interactive_mode
        if mode is InteractiveMode.NEVER:
            return False
        terminal = _stdin_is_terminal()
        if mode is InteractiveMode.ALWAYS and not terminal:
            raise origin.error("exec.interactiveMode", "is Always, but standard input is not a terminal")
        return terminal

    def _executable(self, origin: Origin) -> str:
        command = self.spec.command
        found = command if os.sep in command else shutil.which(command)
        if found and os.path.isfile(found):
            return found
        hint = _printable(self.spec.install_hint).strip()
        raise origin.error(
            "exec.command",
            f"exec plugin {command!r} was not found{'' if os.sep in command else ' on PATH'}"
            + (f"\n\n{hint}" if hint else " (the kubeconfig gives no installHint)"),
        )

    def _environment(self, interactive: bool) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.spec.env)
        spec: dict[str, Any] = {"interactive": interactive}
        if self.spec.cluster_json is not None:
            spec["cluster"] = json.loads(self.spec.cluster_json)
        info = {"apiVersion": self.spec.api_version, "kind": "ExecCredential", "spec": spec}
        env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
        return env


def _run_to_end(argv: list[str], env: dict[str, str], interactive: bool,
                timeout: float | None) -> tuple[int, bytes, bytes | None]:
    """(exit status, stdout, stderr) of a plugin run. A non-interactive plugin gets its own process group,
    so that at its timeout (or an interrupt) whatever it started is killed with it, not the direct child
    alone; an interactive one stays in the terminal's foreground group, where it can prompt."""
    import subprocess

    with subprocess.Popen(argv, env=env, stdin=None if interactive else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=None if interactive else subprocess.PIPE,
                          process_group=None if interactive else 0) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            _kill(process, group=not interactive)
            raise
    return process.returncode, stdout, stderr


def _kill(process: Any, *, group: bool) -> None:
    """SIGKILL the plugin, and with ``group`` every process of its process group (POSIX)."""
    if group and hasattr(os, "killpg"):
        import signal

        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # every process of the group has ended already
            pass
    else:
        process.kill()


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):  # a closed or replaced stdin
        return False


def _tail(stderr: bytes) -> str:
    text = _printable(stderr.decode("utf-8", "replace")).strip()
    return text if len(text) <= _STDERR_TAIL_CHARS else "..." + text[-_STDERR_TAIL_CHARS:]


def _parse_exec_output(stdout: bytes, api_version: str, origin: Origin, command: str) -> _ExecResult:
    """Read the ExecCredential a plugin printed; messages describe it without quoting it."""

    def bad(problem: str) -> ConfigError:
        return origin.error("exec", f"plugin {command!r} {problem}")

    try:
        doc = json.loads(stdout)
    except ValueError:
        raise bad("printed something that is not a JSON ExecCredential") from None
    if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
        raise bad("printed JSON that is not an ExecCredential")
    if doc.get("apiVersion") != api_version:
        raise bad(f"printed an ExecCredential of another apiVersion than the configured {api_version}")
    status = doc.get("status")
    if not isinstance(status, dict):
        raise bad("printed an ExecCredential without a status")
    token = _status_str(status, "token", bad)
    certificate = _status_certificate(status, bad)
    if not token and not certificate:
        raise bad("printed an ExecCredential with neither a token nor a client certificate")
    if token and (problem := token_problem(token)):
        raise bad(f"returned a token that {problem}")
    return _ExecResult(token or None, certificate, _expiry(status, bad))


def _status_str(status: dict[str, Any], key: str, bad: Callable[[str], ConfigError]) -> str:
    value = status.get(key) or ""
    if not isinstance(value, str):
        raise bad(f"printed a status.{key} that is not a string")
    return value


def _status_certificate(status: dict[str, Any], bad: Callable[[str], ConfigError]) -> tuple[bytes, bytes] | None:
    cert = _status_str(status, "clientCertificateData", bad)
    key = _status_str(status, "clientKeyData", bad)
    if bool(cert) != bool(key):
        raise bad("printed only one of status.clientCertificateData and status.clientKeyData (both or neither)")
    if not cert:
        return None
    for name, data, labels in (
        ("clientCertificateData", cert, CERTIFICATE_LABELS),
        ("clientKeyData", key, PRIVATE_KEY_LABELS),
    ):
        if problem := pem_problem(data.encode(), labels):
            raise bad(f"printed a status.{name} that {problem}")
    return cert.encode(), key.encode()


def _expiry(status: dict[str, Any], bad: Callable[[str], ConfigError]) -> datetime | None:
    value = status.get("expirationTimestamp")
    if not value:
        return None
    try:
        expires = datetime.fromisoformat(str(value))
    except ValueError:
        raise bad("printed a status.expirationTimestamp that is not an RFC 3339 time") from None
    if expires.tzinfo is None:
        raise bad("printed a status.expirationTimestamp without a time zone")
    return expires


_PLUGINS: dict[ExecSpec, _ExecPlugin] = {}
_PLUGINS_LOCK = threading.Lock()


def _plugin_for(spec: ExecSpec) -> _ExecPlugin:
    with _PLUGINS_LOCK:
        return _PLUGINS.setdefault(spec, _ExecPlugin(spec))


class ExecCredentials:
    """Credentials printed by an exec plugin: cached until they expire, re-fetched once on refresh().

    The plugin runs on first use, not when the Config is built. Configs with equal exec
    configuration (and cluster, when provideClusterInfo is set) share one cache.
    """

    def __init__(self, spec: ExecSpec, *, origin: Origin) -> None:
        self._plugin = _plugin_for(spec)
        self._origin = origin
        self._used = threading.local()  # .result: the credentials this thread last sent

    def headers(self) -> dict[str, str]:
        """The token's header; runs the plugin when there is no credential yet or it has expired."""
        token = self._use().token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def client_certificate(self) -> tuple[bytes, bytes] | None:
        """The certificate of the credential this thread's ``headers()`` got, so that one request runs the
        plugin at most once, even when what it printed was already expired; the plugin runs only when
        this thread has none yet."""
        used: _ExecResult | None = getattr(self._used, "result", None)
        return (used or self._use()).certificate

    def refresh(self) -> bool:
        """Re-run the plugin after a 401, unless another request did since this thread's was sent."""
        return self._plugin.rerun(self._origin, getattr(self._used, "result", None))

    def _use(self) -> _ExecResult:
        result = self._used.result = self._plugin.current(self._origin)
        return result

    def __repr__(self) -> str:
        return f"ExecCredentials(command={self._plugin.spec.command!r}, source={self._origin.where})"
