"""The string formats the server checks (Go's date-time, byte, quantity, duration, CIDR, MAC, URI, ...), as
``jsonschema`` format checkers, and which format a schema's ``format`` means for a model."""

from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import Any

_QUANTITY_MODEL = "io.k8s.apimachinery.pkg.api.resource.Quantity"


class _Pattern:
    """A regular expression compiled on first use, so that importing this module stays cheap."""

    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source, self._flags = source, flags
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:  # fullmatch, match, search, findall
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return getattr(self._compiled, name)


_GO_TIME = _Pattern(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?"
                      r"(?:Z|[+-]([0-9]{2}):([0-9]{2}))")
_STRFMT_TIME = _Pattern(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))")
_DATE = _Pattern(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_QUANTITY = _Pattern(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")
_STRFMT_BASE64 = _Pattern(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})")
_UUID_PATTERNS = {
    "uuid": r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}",
    "uuid3": r"[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}",
    "uuid4": r"[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}",
    "uuid5": r"[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}",
}
_HEX_DIGITS = _Pattern(r"[0-9A-Fa-f]+")
_HEXCOLOR = _Pattern(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_GO_DURATION = _Pattern(r"[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+")
_SCALA_DURATION = _Pattern(r"[\t\n\f\r ]*(?:[0-9]+[\t\n\f\r ]*[A-Za-z\u00b5]+[\t\n\f\r ]*)+")
_SCALA_DURATION_PART = _Pattern(r"([0-9]+)[\t\n\f\r ]*([A-Za-z\u00b5]+)")
_DURATION_UNITS = (("ns", "nano"), ("us", "\u00b5s", "micro"), ("ms", "milli"), ("s", "sec"), ("m", "min"),
                   ("h", "hr", "hour"), ("d", "day"), ("w", "wk", "week"))
_URI_SCHEME = _Pattern(r"[A-Za-z][A-Za-z0-9+.-]*:")
_URI_BAD_ESCAPE = _Pattern(r"%(?![0-9A-Fa-f]{2})")
_URI_HOST_BAD = _Pattern(r"[^A-Za-z0-9\-_.~!$&'()*+,;=:\[\]<>\"%\x80-\U0010ffff]")


def _valid_date(year: int, month: int, day: int) -> bool:
    """Go's range checks (year 0000 included, unlike Python's datetime)."""
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _check_date(value: str) -> bool:
    """``time.Parse("2006-01-02", value)``: both the built-in and the CRD rule."""
    match = _DATE.fullmatch(value)
    return bool(match) and _valid_date(*(int(g) for g in match.groups()))


def _check_go_time(value: str, *, micro: bool = False) -> bool:
    """metav1.Time (``time.Parse(RFC3339)``) or, with ``micro``, metav1.MicroTime (six fraction digits).

    As Go's parser: a one-digit hour is accepted, the fraction may follow ``.`` or ``,``, ``T`` and ``Z`` are
    upper case, and an offset may say up to 24 hours and 60 minutes.
    """
    match = _GO_TIME.fullmatch(value)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, tz_hour, tz_minute = match.group(7), match.group(8), match.group(9)
    if micro and (fraction is None or len(fraction) != 6):
        return False
    if tz_hour is not None and (int(tz_hour) > 24 or int(tz_minute) > 60):
        return False
    return _valid_date(year, month, day) and hour < 24 and minute < 60 and second < 60


def _check_go_base64(value: str) -> bool:
    """encoding/json's []byte: standard padded base64, line breaks ignored."""
    try:
        base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _check_quantity(value: str) -> bool:
    return bool(_QUANTITY.fullmatch(value))


def _check_strfmt_date_time(value: str) -> bool:
    """strfmt.IsDateTime: split on "t" (any case), a valid date, then ``hh:mm:ss[.frac](z|±hh:mm)``."""
    parts = value.lower().split("t")
    if len(value) < 4 or len(parts) < 2 or not _check_date(parts[0]):
        return False
    match = _STRFMT_TIME.fullmatch(parts[1])
    return bool(match) and match.group(1) <= "23" and match.group(2) <= "59" and match.group(3) <= "59"


def _sloppy_ip(value: str) -> int | None:
    """The IP version of ``value`` as k8s.io/utils ParseIPSloppy reads it (IPv4 octets may have leading
    zeros), or None."""
    for char in value:
        if char == ".":
            return 4 if _sloppy_ipv4(value) else None
        if char == ":":
            break
    else:
        return None
    if "%" in value:
        return None
    head, _, tail = value.rpartition(":")
    if "." in tail:  # embedded IPv4: leading zeros allowed there too
        if not _sloppy_ipv4(tail):
            return None
        value = head + ":" + ".".join(str(int(p)) for p in tail.split("."))
    import ipaddress

    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return None
    return 6


def _sloppy_ipv4(value: str) -> bool:
    parts = value.split(".")
    return len(parts) == 4 and all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts)


def _check_cidr(value: str) -> bool:
    """net.ParseCIDR, sloppy: ``address/prefix`` with a decimal prefix length."""
    address, slash, prefix = value.partition("/")
    version = _sloppy_ip(address) if slash else None
    if version is None or not (prefix.isascii() and prefix.isdigit()):
        return False
    return int(prefix) <= (32 if version == 4 else 128)


def _check_mac(value: str) -> bool:
    """net.ParseMAC: 6, 8 or 20 octets as ``aa:bb:..``, ``aa-bb-..`` or ``aabb.ccdd...``."""
    if len(value) >= 3 and value[2] in ":-":
        groups, size = value.split(value[2]), 2
    elif len(value) >= 5 and value[4] == ".":
        groups, size = value.split("."), 4
    else:
        return False
    octets = len(groups) * size // 2
    return octets in (6, 8, 20) and all(len(g) == size and _HEX_DIGITS.fullmatch(g) for g in groups)


def _check_duration(value: str) -> bool:
    """strfmt.ParseDuration: Go's ``time.ParseDuration``, else Scala-like ``"3 days"`` with a known unit."""
    if value in ("0", "+0", "-0") or _GO_DURATION.fullmatch(value):
        return True
    if not _SCALA_DURATION.fullmatch(value):
        return False
    for _count, unit in _SCALA_DURATION_PART.findall(value):
        unit = unit.lower()
        if any(unit == v or (i == len(vs) - 1 and unit.startswith(v)) for vs in _DURATION_UNITS
               for i, v in enumerate(vs)):
            return True
    return False


def _check_uri(value: str) -> bool:
    """The clear failures of Go's ``url.ParseRequestURI``: empty, control characters, no scheme and no leading
    ``/``, a character not allowed in a host name, a bad ``%`` escape in the path. (Ports, user info and
    escapes in the host are not checked.)"""
    if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or value.startswith(":"):
        return False
    if value == "*":
        return True
    scheme = _URI_SCHEME.match(value)
    rest = value[scheme.end():] if scheme else value
    path = rest.split("?", 1)[0]
    if not path.startswith("/"):
        return bool(scheme)  # with a scheme, the rest is opaque and not checked further
    if path.startswith("//") and scheme:
        authority, slash, path = path[2:].partition("/")
        if _URI_HOST_BAD.search(authority.rpartition("@")[2]):
            return False
        path = slash + path
    return not _URI_BAD_ESCAPE.search(path)


def _regex_check(pattern: _Pattern) -> Any:
    return lambda value: bool(pattern.fullmatch(value))


# Private format name -> checker. Built-in (Go decoding) and CRD (strfmt) checkers are kept apart.
FORMAT_CHECKS: dict[str, Any] = {
    "go:date-time": _check_go_time,
    "go:micro-time": functools.partial(_check_go_time, micro=True),
    "go:byte": _check_go_base64,
    "go:quantity": _check_quantity,
    "crd:datetime": _check_strfmt_date_time,
    "crd:date": _check_date,
    "crd:byte": _regex_check(_STRFMT_BASE64),
    "crd:ipv4": lambda v: _sloppy_ip(v) is not None and "." in v,
    "crd:ipv6": lambda v: _sloppy_ip(v) is not None and ":" in v,
    "crd:cidr": _check_cidr,
    "crd:mac": _check_mac,
    "crd:duration": _check_duration,
    "crd:uri": _check_uri,
    "crd:hexcolor": _regex_check(_HEXCOLOR),
    "crd:bsonobjectid": lambda v: len(v) == 24 and bool(_HEX_DIGITS.fullmatch(v)),
    **{f"crd:{name}": _regex_check(_Pattern(pattern, re.IGNORECASE)) for name, pattern in _UUID_PATTERNS.items()},
}
PUBLIC_FORMAT = {"go:micro-time": "date-time", "go:date-time": "date-time", "crd:datetime": "date-time"}
_GO_MODEL_FORMATS = {
    _QUANTITY_MODEL: "go:quantity",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "go:date-time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "go:micro-time",
}
_GO_FORMATS = {"date-time": "go:date-time", "byte": "go:byte"}


def format_for(fmt: Any, model: str, crd: bool) -> str | None:
    """The private format name a schema node gets, or None when the server does not check its format."""
    if model in _GO_MODEL_FORMATS:
        return _GO_MODEL_FORMATS[model]
    if not isinstance(fmt, str):
        return None
    if not crd:
        return _GO_FORMATS.get(fmt)
    name = "crd:" + fmt.replace("-", "")
    return name if name in FORMAT_CHECKS else None
