"""Configuration: where the cluster is and who we are, from kubeconfig, in-cluster files or a URL.

Follows client-go's clientcmd loading and merging rules. This module reads files and runs exec
credential plugins; it never talks HTTP (the transport applies what it produces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Credentials(Protocol):
    """Who the client is. The transport asks for these on every request, so they may rotate."""

    def headers(self) -> dict[str, str]:
        """Headers to add to a request (Authorization, Impersonate-*); may re-read a token file."""
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


@dataclass(frozen=True)
class Config:
    """Everything the transport needs to reach one cluster as one user.

    ``source`` says where it came from (a kubeconfig path, "in-cluster" or "url") for messages.
    """

    server: str
    namespace: str = "default"
    context: str | None = None
    source: str = "url"
    ca_data: bytes | None = field(default=None, repr=False)
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    disable_compression: bool = False
    credentials: Credentials = field(default_factory=NoCredentials, repr=False)
