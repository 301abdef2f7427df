"""JSON decoding of what the server sends and the disk caches hold: one function, ``loads``.

List pages, single objects, watch events, discovery and OpenAPI documents and the cache files are
all decoded here. orjson decodes when it is installed (``pip install 'dynkube[fast]'``) unless the
environment says ``DYNKUBE_JSON=stdlib``; the results are always ``json.loads``'s: a document that
orjson would read differently (an integer beyond 64 bits, which orjson turns into a float) or not
at all (NaN and Infinity, a byte-order mark, UTF-16, lone surrogates, invalid JSON) is decoded by
``json.loads``, so its value, or its error (a ``ValueError``), is the standard library's.

The garbage collector is paused while a large document is decoded: decoding creates no reference
cycles, and the collections it would trigger (one every 700 new containers, each walking every
young object) cost more than the decode itself on a list page. The decode that paused it turns it
back on when it ends (so a decode running at the same time in another thread may finish with it
on); it stays off if it was off.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
from collections.abc import Callable
from typing import Any

ENVIRONMENT = "DYNKUBE_JSON"  # "stdlib": never orjson
PAUSE_FROM = 16 * 1024  # bytes from which the collector is paused during a decode
_DIGITS = bytes(48 if 48 <= c <= 57 else 32 for c in range(256))  # every digit to "0", the rest to " "
_LONG_NUMBER = b"0" * 19  # 19 digits may exceed 64 bits; 18 never do
_UNCHOSEN: Any = object()
_fast: Callable[[bytes], Any] | None = _UNCHOSEN  # chosen on first use: `import dynkube` stays cheap


def loads(data: bytes | str) -> Any:
    """``json.loads(data)``'s value, or its ValueError, decoded by orjson where that gives the same."""
    fast = _fast if _fast is not _UNCHOSEN else choose()
    if len(data) < PAUSE_FROM or not gc.isenabled():
        return _decode(data, fast)
    gc.disable()
    try:
        return _decode(data, fast)
    finally:
        gc.enable()


def decoder() -> str:
    """The decoder ``loads`` uses when it can: ``"orjson"`` or ``"json"``."""
    return "json" if (_fast if _fast is not _UNCHOSEN else choose()) is None else "orjson"


def _decode(data: bytes | str, fast: Callable[[bytes], Any] | None) -> Any:
    if fast is None:
        return json.loads(data)
    if isinstance(data, str):
        try:
            raw = data.encode()
        except UnicodeEncodeError:  # lone surrogates: only json reads them
            return json.loads(data)
    else:
        raw = data
    if _LONG_NUMBER in raw.translate(_DIGITS):  # a number orjson may read as a float
        return json.loads(data)
    try:
        return fast(raw)
    except ValueError:  # orjson.JSONDecodeError: json reads it (NaN, a BOM, UTF-16) or says why not
        return json.loads(data)


def choose() -> Callable[[bytes], Any] | None:
    """Pick the decoder again from what is installed and ``DYNKUBE_JSON`` (read once otherwise)."""
    global _fast
    fast: Callable[[bytes], Any] | None = None
    if os.environ.get(ENVIRONMENT, "").strip().lower() != "stdlib":
        try:  # by name: the type check is the same with and without the extra installed
            fast = importlib.import_module("orjson").loads
        except ImportError:
            pass
    _fast = fast
    return fast

