"""Credentials as steps see them, and the resolver the caller supplies.

The core never stores credentials: the server's vault (or the CLI's environment) resolves a name to a
``Credential`` only inside a running step, and every secret it hands out is registered for redaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .errors import CredentialNotFoundError


@dataclass(frozen=True)
class Credential:
    name: str
    username: str = ""
    password: str = field(default="", repr=False)
    gateway_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    description: str = ""
    ca_cert: str | None = None

    def secrets(self) -> list[str]:
        """Values that must never leave the step that used them."""
        return [s for s in (self.password, self.api_token) if s]

    def template_view(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "username": self.username,
            "password": self.password,
            "gateway_url": self.gateway_url,
            "api_token": self.api_token,
        }


CredentialResolver = Callable[[str], Awaitable[Credential]]


async def no_credentials(name: str) -> Credential:
    raise CredentialNotFoundError(f"Credential '{name}' not found", {"name": name})


class MappingCredentials:
    """A resolver over an in-memory mapping (the CLI's and tests' credential source)."""

    def __init__(self, credentials: dict[str, Credential] | None = None) -> None:
        self._credentials = dict(credentials or {})

    def add(self, credential: Credential) -> None:
        self._credentials[credential.name] = credential

    async def __call__(self, name: str) -> Credential:
        try:
            return self._credentials[name]
        except KeyError:
            raise CredentialNotFoundError(
                f"Credential '{name}' not found", {"name": name}
            ) from None
