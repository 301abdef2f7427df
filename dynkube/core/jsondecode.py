"""JSON decoding of what the server sends and the disk caches hold: one function, ``loads``.

List pages, single objects, watch events, discovery and OpenAPI documents and the cache files are
all decoded here, with the standard library's ``json`` or, when it is installed (``pip install
'dynkube[fast]'``), orjson. The results are always ``json.loads``'s: a document that orjson would
read differently (an integer beyond 64 bits, which orjson turns into a float) or not at all (NaN and
Infinity, a byte-order mark, UTF-16, lone surrogates, invalid JSON) is decoded by ``json.loads``, so
its value, or its error (a ``ValueError``), is the standard library's.

orjson decodes only documents of up to ``FAST_UP_TO`` bytes (256 KiB); larger ones are decoded
by json. orjson parses through a buffer of about eleven times the document, freed at once but
allocated while the parsed objects grow: for a list page of 500 ConfigMaps (0.6 MB) the process's
tracemalloc peak was 2.1x the ``requests`` + ``json.loads`` floor's and its RSS peak 1.8x, for pages
of 5,000 3.9x and 1.35x (``bench_informer.py --parts pages``), where json stays at the floor. Watch
streams arrive in pieces of tens of KB (the stream decoder parses no more than ``FAST_UP_TO`` at a
time), so they keep orjson's speed.

Importing orjson costs 7-25 ms here (it imports ``dataclasses``, ``uuid``, ``platform``), more than
it saves on a few small answers, so a process takes it up only once it has decoded ``FAST_FROM``
bytes (a list of a few thousand objects, a busy watch), or
as soon as the bytes decoded and those a paged list says are still to come (``expect``) reach it:
from the second page of a long list on, not only from its eighth.
The environment variable ``DYNKUBE_JSON`` (read on first use) overrides that: ``stdlib`` never
uses orjson, ``orjson`` uses it from the first byte (when installed).

The garbage collector is paused while a large document is decoded: decoding creates no reference
cycles, and the collections it would trigger (one every 700 new containers, each walking every
young object) took a sixth to a third of the time of decoding and reading list pages. The decode that paused it turns it
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

ENVIRONMENT = "DYNKUBE_JSON"  # "stdlib": never orjson; "orjson": from the start; else from FAST_FROM bytes
FAST_FROM = 4 * 2**20  # bytes decoded by json after which orjson (when installed) takes over
FAST_UP_TO = 256 * 1024  # larger documents are decoded by json (orjson's parse buffer, see above)
PAUSE_FROM = 16 * 1024  # bytes from which the collector is paused during a decode
_DIGITS = bytes(48 if 48 <= c <= 57 else 32 for c in range(256))  # every digit to "0", the rest to " "
_LONG_NUMBER = b"0" * 19  # 19 digits may exceed 64 bits; 18 never do
_UNCHOSEN: Any = object()
_LATER: Any = object()
_fast: Callable[[bytes], Any] | None = _UNCHOSEN  # None: json only
_decoded = 0  # bytes json decoded while _fast is _LATER


def loads(data: bytes | str) -> Any:
    """``json.loads(data)``'s value, or its ValueError, decoded by orjson where that gives the same
    (and ``data`` is at most ``FAST_UP_TO`` bytes)."""
    if len(data) > FAST_UP_TO:
        fast = None
    else:
        fast = _fast
        if fast is _UNCHOSEN or fast is _LATER:
            fast = _not_yet(len(data))
    if len(data) < PAUSE_FROM or not gc.isenabled():
        return _decode(data, fast)
    gc.disable()
    try:
        return _decode(data, fast)
    finally:
        gc.enable()


def decoder() -> str:
    """The decoder ``loads`` uses now: ``"orjson"`` or ``"json"``."""
    if _fast is _UNCHOSEN:
        choose()
    return "json" if _fast is None or _fast is _LATER else "orjson"


def choose() -> None:
    """Decide again from ``DYNKUBE_JSON`` and what is installed (done once otherwise), counting anew."""
    global _fast, _decoded
    mode = os.environ.get(ENVIRONMENT, "").strip().lower()
    _decoded = 0
    _fast = None if mode == "stdlib" else _import_fast() if mode == "orjson" else _LATER


def expect(size: int) -> None:
    """Count ``size`` bytes still to come (the rest of a paged list, estimated from its first page)
    toward ``FAST_FROM``: when they and the bytes decoded reach it, orjson is taken up now, so that
    the documents that follow are decoded by it. The bytes are not counted as decoded."""
    global _fast
    if _fast is _UNCHOSEN:
        choose()
    if _fast is _LATER and _decoded + size >= FAST_FROM:
        _fast = _import_fast()


def _not_yet(size: int) -> Callable[[bytes], Any] | None:
    """The decoder for a document of ``size`` bytes while orjson is not taken up yet."""
    global _fast, _decoded
    if _fast is _UNCHOSEN:
        choose()
    chosen: Callable[[bytes], Any] | None = _fast
    if chosen is not _LATER:
        return chosen
    _decoded += size  # not exact under threads: it only decides when orjson is imported
    if _decoded >= FAST_FROM:
        _fast = _import_fast()
        return _fast
    return None


def _import_fast() -> Callable[[bytes], Any] | None:
    try:  # by name: the type check is the same with and without the extra installed
        fast: Callable[[bytes], Any] = importlib.import_module("orjson").loads
    except ImportError:
        return None
    return fast


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
