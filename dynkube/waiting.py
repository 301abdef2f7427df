"""Waiting for an object to meet a condition, as kubectl wait: a condition type, a JSONPath value,
creation or deletion (``wait_for``)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, NotFound, WaitTimeout
from .objects import ApiObject

if TYPE_CHECKING:
    from .client import ResourceClient

DELETED = "delete"
CREATED = "create"


def wait_for(resource: ResourceClient, name: str, namespace: str | None = None, *,
             condition: str | Callable[[ApiObject], bool], timeout: float = 60.0,
             interval: float = 0.2, uid: str | None = None) -> ApiObject | None:
    """Poll ``name`` until ``condition`` holds; returns the object (None when waiting for deletion).

    ``condition`` is a callable on the object, a condition type (``"Established"``, ``"Available"``,
    ``"Ready"`` — true when status.conditions has it with status True; ``"condition=Ready=False"``
    for another status, compared in any case as kubectl), ``"delete"`` (the object is gone),
    ``"create"`` (the object exists), or a kubectl JSONPath equality such as
    ``"jsonpath={.status.phase}=Running"`` (``"jsonpath={.status.readyReplicas}"``: the field is set).
    ``"delete"`` waits for the object's uid to go, as kubectl does: an object re-created under the
    same name (a StatefulSet's pod, a namespace's ``kube-root-ca.crt``) does not keep it waiting.
    The uid is ``uid`` (e.g. from the DELETE answer) or else the one of the first object seen.
    Raises ``WaitTimeout`` (also a ``TimeoutError``) when the time runs out.
    """
    waiter = Waiter(resource.plural, name, condition, timeout=timeout, interval=interval, uid=uid,
                    now=time.monotonic())
    while True:
        try:
            seen: ApiObject | None = resource.get(name, namespace)
        except NotFound:
            seen = None
        if waiter.met(seen):
            return waiter.result
        time.sleep(waiter.pause(time.monotonic()))


class Waiter:
    """What a wait decides, without I/O: whether what was just seen (the object, or None when it is
    not found) meets the condition, how long to pause before looking again (1.5 times longer each
    time, at most 2 s), and when to give up (``WaitTimeout``). Shared by ``wait_for`` and
    ``dynkube.aio.wait_for``."""

    def __init__(self, plural: str, name: str, condition: str | Callable[[ApiObject], bool], *, timeout: float,
                 interval: float, uid: str | None, now: float) -> None:
        self._check = _condition(condition)
        self._what = f"{plural}/{name}"
        self._condition = condition
        self._timeout = timeout
        self._deadline = now + timeout
        self._interval = interval
        self._uid = uid
        self._last: ApiObject | None = None

    def met(self, seen: ApiObject | None) -> bool:
        """True when ``seen`` ends the wait (for ``"delete"``: the object, or the one of this uid, is gone)."""
        self._last = seen
        if self._condition == DELETED:
            if seen is None:
                return True
            uid = (seen.get("metadata") or {}).get("uid")
            self._uid = self._uid or uid
            return uid != self._uid
        return seen is not None and self._check(seen)

    @property
    def result(self) -> ApiObject | None:
        """What the wait returns once met: the object last seen, or None when waiting for deletion."""
        return None if self._condition == DELETED else self._last

    def pause(self, now: float) -> float:
        """Seconds to wait before the next look; WaitTimeout when that would pass the deadline."""
        interval = self._interval
        if now + interval > self._deadline:
            state = "still exists" if self._condition == DELETED else f"last seen: {_summary(self._last)}"
            raise WaitTimeout(f"timed out after {self._timeout:.0f}s waiting for {self._what} "
                              f"to satisfy {self._condition!r} ({state})")
        self._interval = min(interval * 1.5, 2.0)
        return interval


def _condition(condition: str | Callable[[ApiObject], bool]) -> Callable[[ApiObject], bool]:
    if callable(condition):
        return condition
    if not isinstance(condition, str) or not condition:
        raise InvalidInput(f"invalid wait condition {condition!r}")
    if condition == DELETED:
        return lambda obj: False
    if condition == CREATED:
        return lambda obj: True
    if condition.startswith("jsonpath="):
        return _jsonpath_equals(condition[len("jsonpath="):])
    kind, _, wanted = condition.removeprefix("condition=").partition("=")
    if not kind or "=" in wanted:
        raise InvalidInput(f"invalid wait condition {condition!r}; expected condition=TYPE[=STATUS]")
    wanted = wanted or "True"
    return lambda obj: any(c.get("type") == kind and str(c.get("status", "")).lower() == wanted.lower()
                           for c in (obj.get("status") or {}).get("conditions") or [])


_JSONPATH = re.compile(r"^\{((?:\.[\w-]+(?:\[\d+\])?)+)\}(?:=(.*))?$")
_STEP = re.compile(r"\.([\w-]+)(?:\[(\d+)\])?")


def _jsonpath_equals(expression: str) -> Callable[[ApiObject], bool]:
    """``{.status.phase}=Running`` (dotted fields with optional [index]) as a predicate; without
    ``=value``, true when the field is set."""
    match = _JSONPATH.match(expression)
    if not match:
        raise InvalidInput(f"unsupported JSONPath condition {expression!r}; expected {{.field.path}}=value")
    steps = [(field, int(index) if index else None) for field, index in _STEP.findall(match.group(1))]
    expected = match.group(2)

    def check(obj: ApiObject) -> bool:
        value: Any = obj
        for field, index in steps:
            value = value.get(field) if isinstance(value, dict) else None
            if index is not None:
                value = value[index] if isinstance(value, list) and index < len(value) else None
        if expected is None:
            return value is not None
        if isinstance(value, bool):
            return str(value).lower() == expected.lower()
        return value is not None and str(value) == expected

    return check


def _summary(obj: ApiObject | None) -> str:
    if obj is None:
        return "not found"
    conditions = (obj.get("status") or {}).get("conditions") or []
    return ", ".join(f"{c.get('type')}={c.get('status')}" for c in conditions) or "no conditions"
