"""Configuration: where the cluster is and who we are, from kubeconfig, in-cluster files or a URL.

Follows client-go's clientcmd loading and merging rules. This module reads files and runs exec
credential plugins; it never talks HTTP (the transport applies what it produces).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from dynkube.credentials import (
    CERTIFICATE_LABELS,
    EXEC_API_VERSIONS,
    PRIVATE_KEY_LABELS,
    BasicCredentials,
    ClientCertificateCredentials,
    CombinedCredentials,
    Credentials,
    ExecCredentials,
    ExecSpec,
    Impersonation,
    InteractiveMode,
    NoCredentials,
    Origin,
    TokenCredentials,
    decode_base64,
    header_value_problem,
    pem_problem,
)
from dynkube.errors import ConfigError, InvalidInput

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
"""Where a pod finds its service account token, CA and namespace (read when in-cluster config is built)."""

_EXEC_EXTENSION = "client.authentication.k8s.io/exec"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_AUTH_PROVIDER_REPLACEMENTS = {
    "gcp": "the gke-gcloud-auth-plugin exec plugin (gcloud components install gke-gcloud-auth-plugin)",
    "azure": "the kubelogin exec plugin (github.com/Azure/kubelogin; kubelogin convert-kubeconfig)",
    "oidc": "an OIDC exec plugin such as kubelogin (github.com/int128/kubelogin, kubectl oidc-login)",
}


_ANONYMOUS = NoCredentials()


class Config(NamedTuple):
    """Everything the transport needs to reach one cluster as one user (an immutable value).

    ``source`` says where it came from (a kubeconfig path, "in-cluster" or "url") for messages.
    A NamedTuple rather than a dataclass: ``import dynkube`` would otherwise pay for ``dataclasses``.
    """

    server: str
    namespace: str = "default"
    context: str | None = None
    source: str = "url"
    ca_data: bytes | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    disable_compression: bool = False
    credentials: Credentials = _ANONYMOUS

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed: ``config.replace(server="https://other:6443")``."""
        return self._replace(**changes)

    def __repr__(self) -> str:
        proxy = _redact_url(self.proxy_url) if self.proxy_url else None
        return (
            f"Config(server={self.server!r}, namespace={self.namespace!r}, context={self.context!r}, "
            f"source={self.source!r}, ca_data={'<PEM>' if self.ca_data else None}, "
            f"insecure_skip_tls_verify={self.insecure_skip_tls_verify}, tls_server_name={self.tls_server_name!r}, "
            f"proxy_url={proxy!r}, disable_compression={self.disable_compression}, credentials={self.credentials!r})"
        )

    @classmethod
    def from_url(
        cls,
        server: str,
        *,
        token: str | None = None,
        ca: str | os.PathLike[str] | bytes | None = None,
        insecure_skip_tls_verify: bool = False,
        namespace: str = "default",
        client_certificate: str | os.PathLike[str] | bytes | None = None,
        client_key: str | os.PathLike[str] | bytes | None = None,
        tls_server_name: str | None = None,
    ) -> Config:
        """A Config for a server URL, like client-go's BuildConfigFromFlags(masterURL, "").

        ``ca``, ``client_certificate`` and ``client_key`` are file paths or PEM bytes;
        ``tls_server_name`` is the name to verify the server's certificate against (and send as SNI)
        when the URL's host is not one the certificate covers.
        """
        origin = Origin(None, "Config.from_url()")
        ca_data = _pem_argument(ca, "ca", CERTIFICATE_LABELS, origin)
        _check_insecure(insecure_skip_tls_verify, ca_data, "insecure_skip_tls_verify", origin)
        cert = _pem_argument(client_certificate, "client_certificate", CERTIFICATE_LABELS, origin)
        key = _pem_argument(client_key, "client_key", PRIVATE_KEY_LABELS, origin)
        parts: list[Credentials] = []
        if token:
            parts.append(TokenCredentials(token, origin=origin))
        if cert or key:
            parts.append(
                _certificate_pair(cert, key, "client_certificate", "client_key", "from_url() arguments", origin)
            )
        tls = bool(ca_data or cert or insecure_skip_tls_verify)
        return cls(
            server=_server_url(server, tls=tls, key="server", origin=origin),
            namespace=namespace,
            source="url",
            ca_data=ca_data,
            insecure_skip_tls_verify=insecure_skip_tls_verify,
            tls_server_name=tls_server_name or None,
            credentials=_combine(parts, None),
        )


class Overrides(NamedTuple):
    """kubectl's global connection flags, applied over the kubeconfig's context (``--server``,
    ``--token``, ``--user``, ``--cluster``, ``--as``, ...). ``None`` (or empty) leaves a setting as the
    kubeconfig has it; paths are taken relative to the current directory."""

    server: str | None = None
    cluster: str | None = None
    user: str | None = None
    token: str | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    impersonate: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()

    def __repr__(self) -> str:
        shown = {k: ("<redacted>" if k == "token" else v) for k, v in self._asdict().items() if v}
        return f"Overrides({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def cluster_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A cluster entry with these overrides applied (a CA or --insecure-skip-tls-verify replaces the other;
        a server drops the entry's tls-server-name unless one is given too)."""
        if self.certificate_authority and self.insecure_skip_tls_verify:
            raise InvalidInput("certificate_authority (--certificate-authority) cannot be combined with "
                               "insecure_skip_tls_verify (--insecure-skip-tls-verify), as in kubectl: remove one")
        body = dict(body)
        if self.server:  # the entry's tls-server-name was for its own server (client-go drops it too)
            body["server"] = self.server
            body.pop("tls-server-name", None)
        if self.certificate_authority:
            body.pop("certificate-authority-data", None)
            body["certificate-authority"] = os.path.abspath(self.certificate_authority)
            body.pop("insecure-skip-tls-verify", None)
        if self.insecure_skip_tls_verify:
            body["insecure-skip-tls-verify"] = True
            for key in ("certificate-authority", "certificate-authority-data"):
                body.pop(key, None)
        if self.tls_server_name:
            body["tls-server-name"] = self.tls_server_name
        return body

    def user_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A user entry with these overrides applied (a token replaces the entry's token and token file)."""
        body = dict(body)
        if self.token:
            body.pop("tokenFile", None)
            body["token"] = self.token
        for key, value in (("client-certificate", self.client_certificate), ("client-key", self.client_key)):
            if value:
                body.pop(f"{key}-data", None)
                body[key] = os.path.abspath(value)
        if self.impersonate:
            body["as"] = self.impersonate
        if self.impersonate_uid:
            body["as-uid"] = self.impersonate_uid
        if self.impersonate_groups:
            body["as-groups"] = list(self.impersonate_groups)
        return body


# --- public loaders ----------------------------------------------------------------------------


def load_kubeconfig(
    kubeconfig: str | os.PathLike[str] | None = None, *, context: str | None = None, namespace: str | None = None,
    overrides: Overrides | None = None,
) -> Config:
    """Load a Config the way kubectl does.

    ``kubeconfig`` (must exist; not merged with anything) > the files in ``$KUBECONFIG`` (merged;
    missing ones skipped) > ``~/.kube/config``. ``context`` overrides current-context;
    ``namespace`` overrides the context's namespace (else "default"); ``overrides`` are kubectl's
    connection flags, applied over the context's cluster and user.
    """
    check_arguments(kubeconfig=kubeconfig, context=context, namespace=namespace)
    if kubeconfig is not None and os.fspath(kubeconfig):  # "" means not given, as for kubectl --kubeconfig=""
        path = os.path.abspath(os.fspath(kubeconfig))
        if not os.path.exists(path):
            raise ConfigError(f"kubeconfig {path} does not exist", path=path)
        files = [path]
    else:
        files, looked = _find_kubeconfigs()
        if not files:
            raise ConfigError(f"no kubeconfig found: {looked}", key="KUBECONFIG")
    return _Kubeconfig.load(files).config(context, namespace, overrides)


def in_cluster_config(
    *, namespace: str | None = None, service_account_dir: str | os.PathLike[str] | None = None
) -> Config:
    """A Config for a pod: the API server from the environment, the service account's token and CA.

    The token file is re-read at most every 60 s and at once after a 401, since bound tokens
    rotate. Namespace: ``namespace`` > ``$POD_NAMESPACE`` > the service account's namespace file
    > "default". ``service_account_dir`` defaults to SERVICE_ACCOUNT_DIR.
    """
    base = Path(service_account_dir or SERVICE_ACCOUNT_DIR)
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST", ""), os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError(
            "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set",
            key="KUBERNETES_SERVICE_HOST",
        )
    token_path = str(base / "token")
    credentials = TokenCredentials(token_file=token_path, origin=Origin(token_path, "in-cluster service account"))
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return Config(
        server=f"https://{host}:{port}",
        namespace=namespace or os.environ.get("POD_NAMESPACE") or _read_namespace(base / "namespace") or "default",
        source="in-cluster",
        ca_data=_in_cluster_ca(base / "ca.crt"),
        credentials=credentials,
    )


def default_config(*, context: str | None = None, namespace: str | None = None,
                   overrides: Overrides | None = None) -> Config:
    """kubeconfig if one is found (and selects a context), else in-cluster, else a ConfigError.

    As client-go's deferred loading: a kubeconfig without a current-context gives way to in-cluster
    configuration when running in a pod.
    """
    check_arguments(context=context, namespace=namespace)
    files, looked = _find_kubeconfigs()
    in_cluster = _in_cluster_available()
    if files:
        kubeconfig = _Kubeconfig.load(files)
        if context or kubeconfig.current_context or not in_cluster:
            return kubeconfig.config(context, namespace, overrides)
    elif os.environ.get("KUBECONFIG"):
        log.warning("none of the files in $KUBECONFIG exist: %s", os.environ["KUBECONFIG"])
    if context:
        raise ConfigError(f"context {context!r} was asked for, but no kubeconfig was found: {looked}", key="KUBECONFIG")
    if in_cluster:
        return in_cluster_config(namespace=namespace)
    raise ConfigError(
        f"no Kubernetes configuration found: {looked}, and this is not a pod "
        f"(KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset or no token in {SERVICE_ACCOUNT_DIR})",
        key="KUBECONFIG",
    )


def check_arguments(*, kubeconfig: Any = None, context: Any = None, namespace: Any = None) -> None:
    """InvalidInput naming the first argument of the wrong type: a path, and strings (None: not given)."""
    if kubeconfig is not None and not isinstance(kubeconfig, (str, os.PathLike)):
        raise InvalidInput(f"kubeconfig must be a path (str or os.PathLike), not {type(kubeconfig).__name__}")
    for what, value in (("context", context), ("namespace", namespace)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{what} must be a string, not {type(value).__name__}")


def check_client_arguments(config: Any, kubeconfig: Any, context: Any, namespace: Any, cache_dir: Any,
                           discovery_ttl: Any) -> None:
    """InvalidInput for the first unusable ``Client()`` argument (the transport checks its own)."""
    if config is not None and not isinstance(config, Config):
        raise InvalidInput(f"config must be a dynkube.Config, not {type(config).__name__}")
    check_arguments(kubeconfig=kubeconfig, context=context, namespace=namespace)
    if cache_dir is not None and not isinstance(cache_dir, (str, Path, bool)):
        raise InvalidInput(f"cache_dir must be a path, None (default) or False (no disk cache), "
                           f"not {type(cache_dir).__name__}")
    if type(discovery_ttl) not in (int, float) or not 0 <= discovery_ttl < float("inf"):
        raise InvalidInput(f"discovery_ttl must be seconds (a number >= 0), not {discovery_ttl!r}")


def load_client_config(kubeconfig: str | Path | None, context: str | None) -> Config:
    """The configuration of a client given no ``config``: the kubeconfig named, else the default one."""
    if kubeconfig is not None:
        return load_kubeconfig(kubeconfig, context=context)
    return default_config(context=context)


def kubeconfig_paths(kubeconfig: str | os.PathLike[str] | None = None) -> tuple[list[str], bool]:
    """Every kubeconfig path kubectl would consider, existing or not, in precedence order, and whether it
    is one explicit file: ``kubeconfig`` > the files listed in ``$KUBECONFIG`` > ``~/.kube/config``."""
    check_arguments(kubeconfig=kubeconfig)
    if kubeconfig is not None and os.fspath(kubeconfig):
        return [os.path.abspath(os.fspath(kubeconfig))], True
    listed = os.environ.get("KUBECONFIG", "")
    names = dict.fromkeys(os.path.abspath(name) for name in listed.split(os.pathsep) if name)
    if names:
        return list(names), False
    return [os.path.join(os.path.expanduser("~"), ".kube", "config")], False


def read_kubeconfig(path: str) -> dict[str, Any]:
    """One kubeconfig file as a mapping, checked as loading checks it (sections are lists of named
    entries, current-context a string); an empty file is an empty mapping."""
    doc = _read_yaml(path)
    _top_level_str(doc, "current-context", path)
    for kind in ("cluster", "user", "context"):
        _entries(doc, kind, path)
    return doc


# --- finding and merging kubeconfig files ------------------------------------------------------


def _find_kubeconfigs() -> tuple[list[str], str]:
    """Existing kubeconfig files in kubectl's precedence, and a description of what was looked for."""
    listed = os.environ.get("KUBECONFIG", "")
    if listed:
        names = dict.fromkeys(name for name in listed.split(os.pathsep) if name)  # dedupe, keep order
        found = [os.path.abspath(name) for name in names if os.path.exists(name)]
        return found, f"none of the files in $KUBECONFIG={listed} exist"
    home = os.path.join(os.path.expanduser("~"), ".kube", "config")
    return ([home] if os.path.exists(home) else []), f"$KUBECONFIG is not set and {home} does not exist"


class _Entry(NamedTuple):
    """A named cluster, user or context, with the file that defined it."""

    kind: str  # "cluster" | "user" | "context"
    name: str
    body: dict[str, Any]
    path: str

    def origin(self, context: str) -> Origin:
        label = (
            f"context {self.name!r}" if self.kind == "context" else f"{self.kind} {self.name!r} (context {context!r})"
        )
        return Origin(self.path, label, f"{self.kind}s[{self.name}].{self.kind}.")

    def resolve(self, path: str) -> str:
        """A path from this entry, relative ones taken from the directory of its file."""
        return os.path.join(os.path.dirname(self.path), path) if path and not os.path.isabs(path) else path


class _Kubeconfig:
    """Several kubeconfig files merged by kubectl's rules: the first file to define a name wins."""

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.clusters: dict[str, _Entry] = {}
        self.users: dict[str, _Entry] = {}
        self.contexts: dict[str, _Entry] = {}
        self.current_context = ""

    @classmethod
    def load(cls, files: list[str]) -> _Kubeconfig:
        merged = cls(files)
        for path in files:
            doc = _read_yaml(path)
            merged.current_context = merged.current_context or _top_level_str(doc, "current-context", path)
            for kind, entries in (("cluster", merged.clusters), ("user", merged.users), ("context", merged.contexts)):
                for entry in _entries(doc, kind, path):
                    entries.setdefault(entry.name, entry)
        log.debug("kubeconfig files %s, current-context %r", files, merged.current_context)
        return merged

    def config(self, context: str | None, namespace: str | None, overrides: Overrides | None = None) -> Config:
        """The Config for a context (``context`` or current-context), with kubectl's flag overrides."""
        ctx = self._context(context)
        origin = ctx.origin(ctx.name)
        overrides = overrides or Overrides()
        cluster_name = overrides.cluster or _str_field(ctx.body, "cluster", origin)
        user_name = overrides.user or _str_field(ctx.body, "user", origin)
        ctx_namespace = _str_field(ctx.body, "namespace", origin)
        if ctx_namespace and not _DNS_LABEL.match(ctx_namespace):
            raise origin.error("namespace", f"{ctx_namespace!r} is not a valid namespace name (a DNS-1123 label)")
        if not cluster_name:
            raise origin.error("cluster", "no cluster set")
        cluster_entry = self._lookup(self.clusters, cluster_name, "cluster", origin)
        cluster = _Cluster.parse(cluster_entry._replace(body=overrides.cluster_body(cluster_entry.body)), ctx.name)
        user = self._lookup(self.users, user_name, "user", origin) if user_name else None
        if user is not None:
            user = user._replace(body=overrides.user_body(user.body))
        elif overrides.user_body({}):
            user = _Entry("user", "(command line)", overrides.user_body({}), ctx.path)
        credentials, tls_user = _user_credentials(user, ctx.name, cluster)
        return Config(
            server=_server_url(cluster.server, tls=cluster.tls or tls_user, key="server", origin=cluster.origin),
            namespace=namespace or ctx_namespace or "default",
            context=ctx.name,
            source=ctx.path,
            ca_data=cluster.ca_data,
            insecure_skip_tls_verify=cluster.insecure,
            tls_server_name=cluster.tls_server_name,
            proxy_url=cluster.proxy_url,
            disable_compression=cluster.disable_compression,
            credentials=credentials,
        )

    def _context(self, name: str | None) -> _Entry:
        files = ", ".join(self.files)
        chosen = name or self.current_context
        if not chosen:
            raise ConfigError(
                f"{files}: no current-context is set; pass context= (one of: {_names(self.contexts)})",
                path=self.files[0],
                key="current-context",
            )
        if chosen not in self.contexts:
            how = "asked for" if name else "named by current-context"
            raise ConfigError(
                f"{files}: context {chosen!r} ({how}) is not defined; defined contexts: {_names(self.contexts)}",
                path=self.files[0],
                key="contexts" if name else "current-context",
            )
        return self.contexts[chosen]

    def _lookup(self, entries: dict[str, _Entry], name: str, kind: str, origin: Origin) -> _Entry:
        if name not in entries:
            raise origin.error(
                kind, f"{kind} {name!r} is not defined in {', '.join(self.files)} (defined: {_names(entries)})"
            )
        return entries[name]


def _names(entries: dict[str, _Entry]) -> str:
    return ", ".join(sorted(entries)) or "none"


def _read_yaml(path: str) -> dict[str, Any]:
    """One kubeconfig file as a mapping (an empty file is an empty kubeconfig)."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read kubeconfig {path}: {reason}", path=path) from None
    doc = _parse_json(text) if text.lstrip().startswith("{") else None
    if doc is None:
        doc = _parse_yaml(text, path)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(
            f"{path}: not a kubeconfig: the top level must be a mapping, not {_type_name(doc)}", path=path
        )
    return doc


def _parse_json(text: str) -> Any:
    """A kubeconfig written as JSON (as tools often write them), without importing and running a YAML
    parser, which costs more than the rest of building a Client; None when it is not valid JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def _parse_yaml(text: str, path: str) -> Any:
    import yaml  # deferred: only YAML kubeconfigs need it, and `import dynkube` should stay cheap

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:  # its str() quotes the document, which may hold secrets
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{path}: invalid YAML{where}: {getattr(err, 'problem', None) or 'syntax error'}", path=path
        ) from None


def _top_level_str(doc: dict[str, Any], key: str, path: str) -> str:
    value = doc.get(key) or ""
    if not isinstance(value, str):
        raise ConfigError(f"{path}: {key} must be a string, not {_type_name(value)}", path=path, key=key)
    return value


def _entries(doc: dict[str, Any], kind: str, path: str) -> list[_Entry]:
    """The named entries of one section (``clusters: [{name, cluster: {...}}]``), checked for shape."""
    section = kind + "s"
    items = doc.get(section) or []
    if not isinstance(items, list):
        raise ConfigError(f"{path}: {section} must be a list, not {_type_name(items)}", path=path, key=section)
    entries: dict[str, _Entry] = {}
    for index, item in enumerate(items):
        key = f"{section}[{index}]"
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{path}: {key} must be a mapping with a name", path=path, key=key)
        body = item.get(kind) or {}
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: {key} ({name!r}): {kind} must be a mapping", path=path, key=f"{key}.{kind}")
        if name in entries:
            raise ConfigError(f"{path}: {section} defines {name!r} twice", path=path, key=key)
        entries[name] = _Entry(kind, name, body, path)
    return list(entries.values())


# --- typed fields ------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", bool: "a boolean", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), "a " + type(value).__name__)


def _str_field(body: dict[str, Any], key: str, origin: Origin) -> str:
    """A string field ("" when absent); YAML numbers are taken as their text, as kubectl does."""
    value = body.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise origin.error(key, f"must be a string, not {_type_name(value)}")
    return str(value)


def _bool_field(body: dict[str, Any], key: str, origin: Origin) -> bool:
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise origin.error(key, f"must be true or false, not {_type_name(value)}")
    return value


def _str_list_field(body: dict[str, Any], key: str, origin: Origin) -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise origin.error(key, "must be a list of strings")
    return tuple(value)


def _pem_field(
    entry: _Entry, data_key: str, file_key: str, labels: frozenset[str], origin: Origin
) -> tuple[bytes, str] | None:
    """PEM bytes from ``<data_key>`` (base64) or the file named by ``<file_key>``, with their source."""
    data = _str_field(entry.body, data_key, origin)
    path = entry.resolve(_str_field(entry.body, file_key, origin))
    if data and path:
        raise origin.error(data_key, f"both {data_key} and {file_key} are set; keep one (kubectl refuses this too)")
    if data:
        try:
            pem, key, source = decode_base64(data), data_key, f"{data_key} in {entry.path}"
        except ValueError:
            raise origin.error(data_key, "is not valid base64") from None
    elif path:
        pem, key, source = _read_file(path, file_key, origin), file_key, f"{file_key} {path}"
    else:
        return None
    if problem := pem_problem(pem, labels):
        raise origin.error(key, f"{path} {problem}" if key == file_key else problem)
    return pem, source


def _read_file(path: str, key: str, origin: Origin) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise origin.error(key, f"cannot read {path}: {err.strerror}") from None


def _pem_argument(
    value: str | os.PathLike[str] | bytes | None, key: str, labels: frozenset[str], origin: Origin
) -> bytes | None:
    """A from_url() argument: PEM bytes, or the path of a PEM file."""
    if value is None:
        return None
    pem = value if isinstance(value, bytes) else _read_file(os.fspath(value), key, origin)
    if problem := pem_problem(pem, labels):
        raise origin.error(key, problem)
    return pem


def _certificate_pair(
    cert: bytes | None, key: bytes | None, cert_key: str, key_key: str, source: str, origin: Origin
) -> ClientCertificateCredentials:
    if not cert:
        raise origin.error(cert_key, f"is missing: {key_key} is set, and a client key needs its certificate")
    if not key:
        raise origin.error(key_key, f"is missing: {cert_key} is set, and a client certificate needs its key")
    return ClientCertificateCredentials(cert, key, source=source)


def _check_insecure(insecure: bool, ca_data: bytes | None, key: str, origin: Origin) -> None:
    if insecure and ca_data:
        raise origin.error(
            key, "cannot be combined with a certificate authority (kubectl refuses this too); remove one"
        )


def _server_url(raw: str, *, tls: bool, key: str, origin: Origin) -> str:
    """The API server's base URL; a bare host:port gets https when TLS is configured, as in client-go."""
    url = raw if "://" in raw else ("https://" if tls else "http://") + raw
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise origin.error(key, "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise origin.error(key, "must be an http:// or https:// URL with a host")
    if "@" in parts.netloc:
        raise origin.error(key, "must not hold credentials; put them in the user entry")
    return _lower_scheme(url).rstrip("/")


def _lower_scheme(url: str) -> str:
    """``HTTPS://Host`` as ``https://Host``: URL schemes are case-insensitive (RFC 3986), and the rest of
    dynkube compares them in lower case."""
    scheme, sep, rest = url.partition("://")
    return scheme.lower() + sep + rest


def _proxy_url(raw: str, origin: Origin) -> str | None:
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        host = parts.hostname
    except ValueError:
        raise origin.error("proxy-url", "is not a valid URL") from None
    if parts.scheme.startswith("socks"):
        raise origin.error(
            "proxy-url",
            "socks5 proxies are not supported: they need the PySocks package, an extra dependency dynkube does "
            "not take; use an http:// or https:// proxy (or a local HTTP CONNECT proxy in front of the socks one)",
        )
    if parts.scheme not in ("http", "https") or not host:
        raise origin.error("proxy-url", "must be an http:// or https:// URL with a host")
    return _lower_scheme(raw)


def _redact_url(url: str) -> str:
    """The URL with any user:password@ replaced by ***@."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.partition("@")
    return f"{scheme}{sep}***@{hostpart}" if at and "/" not in userinfo else url


# --- clusters ----------------------------------------------------------------------------------


class _Cluster(NamedTuple):
    """A kubeconfig cluster entry, checked."""

    origin: Origin
    server: str
    ca_data: bytes | None
    insecure: bool
    tls_server_name: str | None
    proxy_url: str | None
    disable_compression: bool
    exec_config: Any  # the client.authentication.k8s.io/exec extension, for provideClusterInfo

    @property
    def tls(self) -> bool:
        return bool(self.ca_data) or self.insecure

    @classmethod
    def parse(cls, entry: _Entry, context: str) -> _Cluster:
        origin = entry.origin(context)
        body = entry.body
        server = _str_field(body, "server", origin)
        if not server:
            raise origin.error("server", "no server URL set")
        ca = _pem_field(entry, "certificate-authority-data", "certificate-authority", CERTIFICATE_LABELS, origin)
        insecure = _bool_field(body, "insecure-skip-tls-verify", origin)
        _check_insecure(insecure, ca and ca[0], "insecure-skip-tls-verify", origin)
        return cls(
            origin=origin,
            server=server,
            ca_data=ca[0] if ca else None,
            insecure=insecure,
            tls_server_name=_str_field(body, "tls-server-name", origin) or None,
            proxy_url=_proxy_url(_str_field(body, "proxy-url", origin), origin),
            disable_compression=_bool_field(body, "disable-compression", origin),
            exec_config=_exec_extension(body, origin),
        )

    def exec_info(self) -> dict[str, Any]:
        """spec.cluster of KUBERNETES_EXEC_INFO (empty fields left out, as in client-go)."""
        info: dict[str, Any] = {
            "server": self.server,
            "tls-server-name": self.tls_server_name,
            "insecure-skip-tls-verify": self.insecure,
            "certificate-authority-data": base64.b64encode(self.ca_data).decode() if self.ca_data else None,
            "proxy-url": self.proxy_url,
            "disable-compression": self.disable_compression,
            "config": self.exec_config,
        }
        return {key: value for key, value in info.items() if value}


def _exec_extension(body: dict[str, Any], origin: Origin) -> Any:
    extensions = body.get("extensions") or []
    if not isinstance(extensions, list) or not all(isinstance(item, dict) for item in extensions):
        raise origin.error("extensions", "must be a list of {name, extension} mappings")
    return next((item.get("extension") for item in extensions if item.get("name") == _EXEC_EXTENSION), None)


# --- users -------------------------------------------------------------------------------------


def _user_credentials(entry: _Entry | None, context: str, cluster: _Cluster) -> tuple[Credentials, bool]:
    """The user's Credentials, and whether they include a client certificate (a hint for https)."""
    if entry is None:
        return NoCredentials(), False
    origin = entry.origin(context)
    if entry.body.get("auth-provider"):
        raise _auth_provider_error(entry.body["auth-provider"], origin)
    parts = _static_credentials(entry, origin)
    if entry.body.get("exec") is not None:
        spec = _exec_spec(entry, origin, cluster)  # checked even when unused, as kubectl does
        if parts:
            log.debug("%s: token, basic or certificate credentials are set; its exec plugin is not used", origin.where)
        else:
            parts.append(ExecCredentials(spec, origin=origin))
    has_certificate = any(isinstance(part, ClientCertificateCredentials) for part in parts)
    return _combine(parts, _impersonation(entry.body, origin)), has_certificate


def _static_credentials(entry: _Entry, origin: Origin) -> list[Credentials]:
    """Token, basic auth and client certificate of a user entry (token with basic auth is refused)."""
    body = entry.body
    parts: list[Credentials] = []
    token = _str_field(body, "token", origin)
    token_file = entry.resolve(_str_field(body, "tokenFile", origin))
    username, password = _str_field(body, "username", origin), _str_field(body, "password", origin)
    if (token or token_file) and (username or password):
        raise origin.error("token", "more than one authentication method: a token and username/password; keep one")
    if token or token_file:
        parts.append(TokenCredentials(token or None, token_file or None, origin=origin))
    if username or password:
        parts.append(BasicCredentials(username, password, origin=origin))
    cert = _pem_field(entry, "client-certificate-data", "client-certificate", CERTIFICATE_LABELS, origin)
    key = _pem_field(entry, "client-key-data", "client-key", PRIVATE_KEY_LABELS, origin)
    if cert or key:
        cert_pem, source = cert or (None, "")
        key_pem = key[0] if key else None
        parts.append(_certificate_pair(cert_pem, key_pem, "client-certificate", "client-key", source, origin))
    return parts


def _combine(parts: list[Credentials], impersonation: Impersonation | None) -> Credentials:
    if impersonation is None and len(parts) <= 1:
        return parts[0] if parts else NoCredentials()
    return CombinedCredentials(parts, impersonation)


def _auth_provider_error(provider: Any, origin: Origin) -> ConfigError:
    name = provider.get("name") if isinstance(provider, dict) else None
    replacement = _AUTH_PROVIDER_REPLACEMENTS.get(name if isinstance(name, str) else "", "an exec credential plugin")
    return origin.error(
        "auth-provider",
        f"auth-provider {name!r} is the legacy, deprecated credential mechanism, which dynkube does not support; "
        f"use {replacement} instead (other clouds: aws eks get-token, azure kubelogin, gke-gcloud-auth-plugin)",
    )


def _impersonation(body: dict[str, Any], origin: Origin) -> Impersonation | None:
    user = _str_field(body, "as", origin)
    uid = _str_field(body, "as-uid", origin)
    groups = _str_list_field(body, "as-groups", origin)
    extra = _user_extra(body, origin)
    for key, values in (("as", (user,)), ("as-uid", (uid,)), ("as-groups", groups),
                        ("as-user-extra", tuple(value for _, value in extra))):
        if problem := next(filter(None, map(header_value_problem, values)), None):
            raise origin.error(key, f"a value {problem}, which cannot be sent in an HTTP header")
    if not user:
        if uid or groups or extra:
            raise origin.error("as", "as-uid, as-groups and as-user-extra need as (the user to impersonate)")
        return None
    return Impersonation(user, uid, groups, extra)


def _user_extra(body: dict[str, Any], origin: Origin) -> tuple[tuple[str, str], ...]:
    value = body.get("as-user-extra") or {}
    if not isinstance(value, dict):
        raise origin.error("as-user-extra", "must be a mapping of names to lists of strings")
    extra: list[tuple[str, str]] = []
    for name, values in value.items():
        values = _str_list_field(value, name, origin.nested("as-user-extra"))
        extra.extend((str(name), item) for item in values)
    return tuple(extra)


def _exec_spec(entry: _Entry, origin: Origin, cluster: _Cluster) -> ExecSpec:
    """The user's exec plugin configuration, checked as client-go does."""
    body = entry.body["exec"]
    if not isinstance(body, dict):
        raise origin.error("exec", f"must be a mapping, not {_type_name(body)}")
    exec_origin = origin.nested("exec")
    command = _str_field(body, "command", exec_origin)
    if not command:
        raise exec_origin.error("command", "is missing: name the credential plugin to run")
    api_version = _str_field(body, "apiVersion", exec_origin)
    if api_version not in EXEC_API_VERSIONS:
        raise exec_origin.error("apiVersion", f"must be one of {', '.join(EXEC_API_VERSIONS)}")
    return ExecSpec(
        command=entry.resolve(command) if os.sep in command else command,
        api_version=api_version,
        args=_str_list_field(body, "args", exec_origin),
        env=_exec_env(body, exec_origin),
        interactive_mode=_interactive_mode(body, api_version, exec_origin),
        install_hint=_str_field(body, "installHint", exec_origin),
        cluster_json=(
            json.dumps(cluster.exec_info(), sort_keys=True, default=str)
            if _bool_field(body, "provideClusterInfo", exec_origin)
            else None
        ),
    )


def _exec_env(body: dict[str, Any], origin: Origin) -> tuple[tuple[str, str], ...]:
    items = body.get("env") or []
    if not isinstance(items, list):
        raise origin.error("env", "must be a list of {name, value} mappings")
    env = []
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        value = item.get("value", "") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise origin.error(f"env[{index}]", "must be a mapping with a name and a string value")
        env.append((name, value))
    return tuple(env)


def _interactive_mode(body: dict[str, Any], api_version: str, origin: Origin) -> InteractiveMode:
    mode = _str_field(body, "interactiveMode", origin)
    if not mode:
        if api_version == EXEC_API_VERSIONS[0]:
            raise origin.error("interactiveMode", f"is required for {api_version} (Never, IfAvailable or Always)")
        return InteractiveMode.IF_AVAILABLE
    try:
        return InteractiveMode(mode)
    except ValueError:
        raise origin.error("interactiveMode", f"must be Never, IfAvailable or Always, not {mode!r}") from None


# --- in-cluster --------------------------------------------------------------------------------


def _in_cluster_available() -> bool:
    """As client-go's Possible(): the service env vars are set and the token file exists."""
    return bool(
        os.environ.get("KUBERNETES_SERVICE_HOST")
        and os.environ.get("KUBERNETES_SERVICE_PORT")
        and os.path.isfile(os.path.join(SERVICE_ACCOUNT_DIR, "token"))
    )


def _in_cluster_ca(path: Path) -> bytes | None:
    """The service account CA; like client-go, a missing or bad one is logged and system CAs are used."""
    try:
        pem = path.read_bytes()
    except OSError as err:
        log.error("in-cluster CA %s cannot be read (%s); using the system CAs", path, err.strerror)
        return None
    if problem := pem_problem(pem, CERTIFICATE_LABELS):
        log.error("in-cluster CA %s %s; using the system CAs", path, problem)
        return None
    return pem


def _read_namespace(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
