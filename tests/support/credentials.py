"""A fixed bearer token as a dynkube Credentials object, for tests that check where credentials go."""

from __future__ import annotations


class StaticToken:
    def __init__(self, token: str) -> None:
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client_certificate(self) -> None:
        return None

    def refresh(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"
