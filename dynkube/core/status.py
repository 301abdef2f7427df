"""Reading an answer: Status to typed error, Warning headers to texts, a body to its JSON object.

The errors themselves live in ``dynkube.errors``; this module decides which one an answer means.
"""

from __future__ import annotations

import re
from typing import Any

from .. import errors
from . import jsondecode
from .http import Response, display_url


def error_for(response: Response, method: str, url: str) -> errors.ApiError:
    """The typed ApiError of a >= 400 answer, from its Status body or synthesized."""
    return errors.api_error_from_status(status_from_response(response), method=method, url=url)


def status_from_response(response: Response) -> dict[str, Any]:
    """The Status dict of an error response; a plain-text or HTML body gives a synthesized one."""
    text = response.text
    try:
        status = jsondecode.loads(text)
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        status.setdefault("code", response.status_code)
        return status
    snippet = " ".join(text.split())[:200] or response.reason or "no body"
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": response.status_code,
            "reason": _REASON_BY_CODE.get(response.status_code, response.reason or ""),
            "message": f"the server answered {response.status_code}: {snippet}"}


_REASON_BY_CODE = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                   405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
                   413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
                   500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}

_WARNING = re.compile(r'299\s+\S+\s+"((?:[^"\\]|\\.)*)"')


def parse_warning_header(value: str) -> list[str]:
    """The texts of RFC 7234 ``299`` warnings (what kube-apiserver sends), unescaped."""
    return [re.sub(r"\\(.)", r"\1", m.group(1)) for m in _WARNING.finditer(value)]


def json_object(response: Response, method: str, url: str | None = None) -> dict[str, Any]:
    """The JSON object a success answer holds; MalformedResponse (URL, Content-Type, first bytes) for
    anything else: an HTML page of a proxy, truncated JSON, ``null``, a list. ``url`` defaults to
    the answer's, without its query."""
    url = display_url(response.url) if url is None else url
    content = response.content
    try:
        body = jsondecode.loads(content)
    except ValueError:  # UnicodeDecodeError included
        problem = "is not JSON"
    else:
        if isinstance(body, dict):
            return body
        problem = f"is JSON but not an object (a {_json_type(body)})"
    content_type = response.headers.get("Content-Type") or "missing"
    raise errors.MalformedResponse(
        f"{method} {display_url(url)}: the server's {response.status_code} answer {problem} "
        f"(Content-Type {content_type!r}, starts with {content[:80]!r})", url=url, body_start=content[:80])


def _json_type(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
