"""Kubeconfig files as kubectl's ``config`` commands see and change them: contexts, the merged view, edits.

Reads the files loading reads (``$KUBECONFIG`` merged, the first file to define a name wins) and writes
each change to the file that defined the entry, as kubectl does. A change is spliced into that file's
text, so its comments, order and layout stay; the result is re-read and compared with the intended
document before it replaces the file atomically. Files only, never HTTP.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import re
import tempfile
from typing import Any, NamedTuple

from .config import kubeconfig_paths, read_kubeconfig
from .errors import ConfigError, InvalidInput

log = logging.getLogger(__name__)

DATA_OMITTED = "DATA+OMITTED"
REDACTED = "REDACTED"
_OMITTED_DATA = {"cluster": ("certificate-authority-data",), "user": ("client-certificate-data", "client-key-data")}
_REDACTED_USER = ("token", "password")
_AUTH_PROVIDER_SECRETS = ("access-token", "client-secret", "id-token", "refresh-token")
_INLINED_FILES = {"cluster": (("certificate-authority", "certificate-authority-data"),),
                  "user": (("client-certificate", "client-certificate-data"), ("client-key", "client-key-data"))}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PLAIN = re.compile(r"^[A-Za-z0-9_./@-][A-Za-z0-9_./@:-]*$")


class ContextInfo(NamedTuple):
    """One context of the merged kubeconfig, and the file that defines it."""

    name: str
    cluster: str
    user: str
    namespace: str
    current: bool
    path: str


class _Named(NamedTuple):
    body: dict[str, Any]
    path: str


class KubeconfigFiles:
    """The kubeconfig files of ``kubeconfig`` (else ``$KUBECONFIG``, else ``~/.kube/config``), merged.

    Reading happens in ``load``; ``use_context`` and ``set_context`` write one file each and reload.
    """

    def __init__(self, paths: list[str], explicit: bool) -> None:
        self.paths = paths
        self.explicit = explicit
        self.files: list[str] = []
        self.current_context = ""
        self._sections: dict[str, dict[str, _Named]] = {}
        self._reload()

    @classmethod
    def load(cls, kubeconfig: str | os.PathLike[str] | None = None) -> KubeconfigFiles:
        """Read the files (an explicit ``kubeconfig`` must exist; missing ``$KUBECONFIG`` files are skipped)."""
        paths, explicit = kubeconfig_paths(kubeconfig)
        if explicit and not os.path.exists(paths[0]):
            raise ConfigError(f"kubeconfig {paths[0]} does not exist", path=paths[0])
        return cls(paths, explicit)

    def _reload(self) -> None:
        self.files = [path for path in self.paths if os.path.exists(path)]
        self.current_context = ""
        self._sections = {"cluster": {}, "user": {}, "context": {}}
        for path in self.files:
            doc = read_kubeconfig(path)
            self.current_context = self.current_context or str(doc.get("current-context") or "")
            for kind, entries in self._sections.items():
                for item in doc.get(kind + "s") or []:
                    entries.setdefault(item["name"], _Named(item.get(kind) or {}, path))

    @property
    def default_file(self) -> str:
        """Where kubectl writes what belongs to no file yet (current-context, new entries): the explicit
        file, else the first existing ``$KUBECONFIG`` file (the last listed if none exists), else
        ``~/.kube/config``."""
        if self.explicit or len(self.paths) == 1:
            return self.paths[0]
        return self.files[0] if self.files else self.paths[-1]

    # ---- reading --------------------------------------------------------------------------

    def contexts(self) -> list[ContextInfo]:
        """Every context, sorted by name."""
        return [ContextInfo(name, str(entry.body.get("cluster") or ""), str(entry.body.get("user") or ""),
                            str(entry.body.get("namespace") or ""), name == self.current_context, entry.path)
                for name, entry in sorted(self._sections["context"].items())]

    def view(self, *, minify: bool = False, flatten: bool = False, raw: bool = False,
             context: str | None = None) -> dict[str, Any]:
        """The merged kubeconfig as kubectl's ``config view`` shows it: entries sorted by name; with
        ``minify`` only ``context`` (else the current one) with its cluster and user; with ``flatten``
        certificate files read into their ``-data`` fields. Certificate and key data are shown as
        ``DATA+OMITTED`` and tokens and passwords as ``REDACTED`` unless ``raw``."""
        names = {kind: sorted(entries) for kind, entries in self._sections.items()}
        current = self.current_context
        if minify:
            current = context or current
            if not current:
                raise ConfigError("current-context must exist in order to minify", key="current-context")
            chosen = self._context_entry(current)
            names = {"context": [current],
                     "cluster": [n for n in [str(chosen.body.get("cluster") or "")] if n in self._sections["cluster"]],
                     "user": [n for n in [str(chosen.body.get("user") or "")] if n in self._sections["user"]]}
        document: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": {},
                                    "current-context": current}
        for kind in ("cluster", "context", "user"):
            document[kind + "s"] = [{"name": name, kind: self._shown(kind, name, flatten, raw)} for name in names[kind]]
        return document

    def _shown(self, kind: str, name: str, flatten: bool, raw: bool) -> dict[str, Any]:
        entry = self._sections[kind][name]
        body = copy.deepcopy(entry.body)
        if flatten:
            for file_key, data_key in _INLINED_FILES.get(kind, ()):
                if body.get(file_key):
                    body[data_key] = _file_base64(entry.path, str(body.pop(file_key)), f"{kind} {name!r}")
        if not raw:
            _redact(kind, body)
        return body

    def _context_entry(self, name: str) -> _Named:
        entry = self._sections["context"].get(name)
        if entry is None:
            defined = ", ".join(sorted(self._sections["context"])) or "none"
            raise ConfigError(f'no context exists with the name: "{name}" (defined: {defined})', key="contexts")
        return entry

    # ---- writing --------------------------------------------------------------------------

    def use_context(self, name: str) -> str:
        """Make ``name`` the current context; returns the file written (``default_file``, as kubectl)."""
        self._context_entry(name)
        path = self.default_file
        _edit_file(path, _SetTop("current-context", name))
        self._reload()
        return path

    def set_context(self, name: str, *, cluster: str | None = None, user: str | None = None,
                    namespace: str | None = None) -> bool:
        """Set fields of context ``name`` in the file that defines it, or create it in ``default_file``;
        True if it was created. ``None`` leaves a field as it is."""
        if not isinstance(name, str) or not name:
            raise InvalidInput("a context name is needed (a non-empty string)")
        fields = {key: value for key, value in (("cluster", cluster), ("user", user), ("namespace", namespace))
                  if value is not None}
        for key, value in fields.items():
            if not isinstance(value, str):
                raise InvalidInput(f"context {key} must be a string, not {type(value).__name__}")
        if fields.get("namespace") and not _DNS_LABEL.match(fields["namespace"]):
            raise InvalidInput(f"namespace {fields['namespace']!r} is not a valid namespace name (a DNS-1123 label)")
        existing = self._sections["context"].get(name)
        if existing is None:
            _edit_file(self.default_file, _AddEntry("contexts", {"context": fields, "name": name}))
        elif fields:
            _edit_file(existing.path, _SetInEntry("contexts", name, "context", fields))
        self._reload()
        return existing is None


def _redact(kind: str, body: dict[str, Any]) -> None:
    for key in _OMITTED_DATA.get(kind, ()):
        if body.get(key):
            body[key] = DATA_OMITTED
    if kind != "user":
        return
    for key in _REDACTED_USER:
        if body.get(key):
            body[key] = REDACTED
    provider = body.get("auth-provider")
    settings = provider.get("config") if isinstance(provider, dict) else None
    if isinstance(settings, dict):
        for key in _AUTH_PROVIDER_SECRETS:
            if settings.get(key):
                settings[key] = REDACTED


def _file_base64(kubeconfig: str, path: str, what: str) -> str:
    full = path if os.path.isabs(path) else os.path.join(os.path.dirname(kubeconfig), path)
    try:
        with open(full, "rb") as stream:
            return base64.b64encode(stream.read()).decode()
    except OSError as err:
        raise ConfigError(f"{kubeconfig}: {what}: cannot read {full}: {err.strerror}", path=kubeconfig) from None


# ---- edits: a change to the document, and the same change spliced into the file's text -------

class _SetTop(NamedTuple):
    """Set a top-level string (``current-context``)."""

    key: str
    value: str

    def apply(self, doc: dict[str, Any]) -> None:
        doc[self.key] = self.value

    def splice(self, text: str, root: Any) -> str:
        return _set_pairs(text, root, {self.key: self.value})


class _AddEntry(NamedTuple):
    """Add a named entry to a section (``contexts``)."""

    section: str
    item: dict[str, Any]

    def apply(self, doc: dict[str, Any]) -> None:
        doc[self.section] = [*(doc.get(self.section) or []), self.item]

    def splice(self, text: str, root: Any) -> str:
        section = _value_of(root, self.section)
        if section is None or _is_null(section):
            return _set_pairs(text, root, {self.section: [self.item]})
        return _append_item(text, section, self.item)


class _SetInEntry(NamedTuple):
    """Set fields of one named entry's body (``contexts[name].context``)."""

    section: str
    name: str
    kind: str
    fields: dict[str, str]

    def apply(self, doc: dict[str, Any]) -> None:
        for item in doc[self.section]:
            if item["name"] == self.name:
                item[self.kind] = {**(item.get(self.kind) or {}), **self.fields}

    def splice(self, text: str, root: Any) -> str:
        section = _value_of(root, self.section)
        entry = next(item for item in section.value if _scalar_value(_value_of(item, "name")) == self.name)
        body = _value_of(entry, self.kind)
        if body is None or _is_null(body):
            return _set_pairs(text, entry, {self.kind: self.fields})
        return _set_pairs(text, body, self.fields)


def _edit_file(path: str, edit: _SetTop | _AddEntry | _SetInEntry) -> None:
    """Apply ``edit`` to one file: spliced into its text when the result reads back as intended,
    else (a layout the splice does not handle) the whole document rewritten."""
    text = _read_text(path) if os.path.exists(path) else ""
    doc = read_kubeconfig(path) if text else {}
    if not doc:
        doc = {"apiVersion": "v1", "kind": "Config"}
    expected = copy.deepcopy(doc)
    edit.apply(expected)
    new_text = _spliced(text, edit, expected)
    if new_text is None:
        log.warning("%s: rewriting the whole file (comments and layout are not kept)", path)
        new_text = _dump(expected)
    _write_atomic(path, new_text)


def _spliced(text: str, edit: _SetTop | _AddEntry | _SetInEntry, expected: dict[str, Any]) -> str | None:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is None:
            return None
        new_text = edit.splice(text, root)
        if yaml.safe_load(new_text) == expected:
            return new_text
    except (yaml.YAMLError, _Unspliceable, StopIteration, AttributeError, TypeError):
        pass
    return None


class _Unspliceable(Exception):
    """The text has a shape the splice does not handle (the file is then rewritten whole)."""


def _value_of(mapping: Any, key: str) -> Any:
    if not hasattr(mapping, "value") or not isinstance(mapping.value, list) or mapping.tag != "tag:yaml.org,2002:map":
        raise _Unspliceable(key)
    return next((value for k, value in mapping.value if _scalar_value(k) == key), None)


def _scalar_value(node: Any) -> Any:
    return node.value if node is not None and isinstance(node.value, str) else None


def _is_null(node: Any) -> bool:
    return bool(node.tag == "tag:yaml.org,2002:null")


def _set_pairs(text: str, mapping: Any, pairs: dict[str, Any]) -> str:
    """Set each key of ``pairs`` in ``mapping``: a scalar value replaced in place, a missing key added
    after the mapping's last pair (inside the braces of a flow mapping). Edits go from the end of the
    text backwards so earlier offsets stay valid."""
    if mapping.tag != "tag:yaml.org,2002:map":
        raise _Unspliceable("not a mapping")
    replacements: list[tuple[int, int, str]] = []
    missing: dict[str, Any] = {}
    for key, value in pairs.items():
        node = _value_of(mapping, key)
        if node is None:
            missing[key] = value
        elif isinstance(node.value, str) and isinstance(value, str):
            flow = mapping.flow_style or text[node.start_mark.index:node.start_mark.index + 1] in "\"'"
            replacements.append((node.start_mark.index, node.end_mark.index, _scalar(value, flow)))
        elif _is_null(node) and not mapping.flow_style:  # `contexts:` with nothing: the pair replaced
            replacements.append(_null_pair(text, mapping, key, node, value))
        else:
            raise _Unspliceable(key)
    if missing:
        replacements.append(_insertion(text, mapping, missing))
    for start, end, new in sorted(replacements, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _null_pair(text: str, mapping: Any, key: str, node: Any, value: Any) -> tuple[int, int, str]:
    key_node = next(k for k, v in mapping.value if v is node)
    start = int(key_node.start_mark.index)
    end = int(node.end_mark.index)
    if node.start_mark.index == node.end_mark.index:  # an empty value: the pair ends at its colon
        end = text.index(":", key_node.end_mark.index) + 1
    return start, end, _block(key, value, key_node.start_mark.column).lstrip(" ")


def _insertion(text: str, mapping: Any, pairs: dict[str, Any]) -> tuple[int, int, str]:
    if mapping.flow_style:
        close = _closing(text, mapping, "}")
        as_json = text.lstrip().startswith("{")  # a JSON file stays JSON
        body = ", ".join(f"{_flow(k, as_json)}: {_flow(v, as_json)}" for k, v in pairs.items())
        return close, close, (", " if mapping.value else "") + body
    if not mapping.value:
        raise _Unspliceable("empty block mapping")
    column = mapping.value[0][0].start_mark.column
    end = _content_end(mapping)
    return end, end, "".join("\n" + _block(key, value, column) for key, value in pairs.items())


def _append_item(text: str, sequence: Any, item: dict[str, Any]) -> str:
    if sequence.tag != "tag:yaml.org,2002:seq":
        raise _Unspliceable("not a list")
    if sequence.flow_style:
        close = _closing(text, sequence, "]")
        return text[:close] + (", " if sequence.value else "") + json.dumps(item) + text[close:]
    column = sequence.start_mark.column
    end = _content_end(sequence)
    return text[:end] + "\n" + _block_item(item, column) + text[end:]


def _closing(text: str, node: Any, bracket: str) -> int:
    """The offset of a flow collection's closing bracket."""
    close = int(node.end_mark.index) - 1
    if text[close:close + 1] != bracket:
        raise _Unspliceable(bracket)
    return close


def _content_end(node: Any) -> int:
    """Where a node's own text ends (a block collection's end mark lies past comments that follow it)."""
    if node.tag in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq") and not node.flow_style and node.value:
        last = node.value[-1]
        return _content_end(last[1] if isinstance(last, tuple) else last)
    return int(node.end_mark.index)


def _block(key: str, value: Any, column: int) -> str:
    """``key: value`` as block YAML lines indented to ``column``."""
    return _indented(_dump({key: value}), column)


def _block_item(item: dict[str, Any], column: int) -> str:
    return _indented(_dump([item]), column)


def _indented(text: str, column: int) -> str:
    return "\n".join(" " * column + line for line in text.rstrip("\n").split("\n"))


def _scalar(value: str, flow: bool) -> str:
    """A string as a YAML scalar: plain where it reads back as the same string, else double-quoted."""
    import yaml

    if not flow and _PLAIN.match(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _flow(value: Any, as_json: bool) -> str:
    """A value inside a flow collection: plain where safe in a YAML file, else JSON."""
    if not as_json and isinstance(value, str) and ":" not in value:
        return _scalar(value, flow=False)
    return json.dumps(value)


def _dump(document: Any) -> str:
    from .objects import dump_yaml

    return dump_yaml(document)


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read kubeconfig {path}: {reason}", path=path) from None


def _write_atomic(path: str, text: str) -> None:
    """Replace the file (through a symlink, its target) with ``text``: a new file in the same directory,
    flushed to disk, then renamed over the old one, so a failure at any point leaves the old file whole.
    The old file's permissions are kept (0600 for a new one)."""
    real = os.path.realpath(path)
    directory = os.path.dirname(real)
    try:
        mode = os.stat(real).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o600
    temporary = None
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, real)
        temporary = None
    except OSError as err:
        raise ConfigError(f"cannot write kubeconfig {path}: {err.strerror or err}; it was left unchanged",
                          path=path) from None
    finally:
        if temporary is not None:
            os.unlink(temporary)
