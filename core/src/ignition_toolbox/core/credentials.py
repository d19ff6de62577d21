"""Credentials as steps see them, and the resolver the caller supplies.

The core never stores credentials: the server's vault (or the CLI's environment) resolves a name to a
``Credential`` only inside a running step, and every secret it hands out is registered for redaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .errors import CredentialNotFoundError
from .origins import Binding
from .secrets import Secret


@dataclass(frozen=True)
class Credential:
    name: str
    username: str = ""
    password: str = field(default="", repr=False)
    gateway_url: str | None = None
    api_token: str | None = field(default=None, repr=False)
    description: str = ""
    ca_cert: str | None = None
    # Origins besides the gateway's that may receive the secrets (an identity provider's login page).
    extra_origins: tuple[str, ...] = ()

    def secrets(self) -> list[str]:
        """Values that must never leave the step that used them."""
        return [s for s in (self.password, self.api_token) if s]

    @property
    def binding(self) -> Binding:
        """Where the secrets may go: the gateway's origin and the extra origins, nothing else."""
        return Binding.of(self.name, [self.gateway_url, *self.extra_origins])

    def allows(self, url: str) -> bool:
        return self.binding.allows(url)

    def secret(self, field: str) -> Secret | None:
        """``password`` or ``api_token`` as an opaque value bound to this credential's origins."""
        value = self.password if field == "password" else self.api_token if field == "api_token" else None
        if not value:
            return None
        return Secret(value, f"credential '{self.name}' {field}", self.binding)

    def template_view(self) -> dict[str, str | Secret | None]:
        """What ``{{ credential.<name>.… }}`` sees: the secrets as opaque values bound to origins."""
        password, api_token = self.secret("password"), self.secret("api_token")
        return {
            "name": self.name,
            "username": self.username,
            "password": self.password if password is None else password,
            "gateway_url": self.gateway_url,
            "api_token": self.api_token if api_token is None else api_token,
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
