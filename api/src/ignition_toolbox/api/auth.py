"""Authentication and authorization for every request and WebSocket handshake (SR-1, SR-3, SR-10).

Local desktop mode (loopback bind, no ``--auth``) trusts the single user but still checks ``Host``
and ``Origin`` so a web page or DNS rebinding cannot drive the server. Key mode accepts only the
documented header (and ``api_key`` on the WebSocket, as the guide shows), with exact matching.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from ignition_toolbox.core import (
    PermissionDeniedError,
    RateLimitedError,
    UnauthorizedError,
    ValidationError,
)

from . import keys
from .failure_audit import FailureAudit
from .models import ApiKeyRecord
from .permissions import Permission, allows
from .server_names import host_name
from .settings import LOOPBACK_NAMES, Settings

LAST_USED_INTERVAL = 60.0
UNAUTHORIZED_MESSAGE = "A valid API key is required"


@dataclass(frozen=True)
class Principal:
    key_id: str | None
    role: str
    name: str

    @property
    def actor(self) -> str:
        return self.key_id or "local"


LOCAL_PRINCIPAL = Principal(None, "admin", "local")


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.required = settings.auth_required
        self.allowed_origins = frozenset(settings.allowed_origins)
        self._limiter = FixedWindowRateLimiter(MemoryStorage())
        self._key_limit: RateLimitItem = parse(settings.rate_limit)
        self._failure_limit: RateLimitItem = parse(settings.auth_failure_limit)
        self._ws_limit: RateLimitItem = parse(settings.ws_handshake_limit)
        self._last_used: dict[str, float] = {}
        self.failures = FailureAudit()
        # Key mode only: desktop mode holds Host to the loopback names whatever it is bound to.
        self.server_names = settings.resolved_server_names if self.required else frozenset()

    # -- browser-driven abuse ------------------------------------------------------------------

    def check_host(self, host: str | None) -> None:
        """Desktop mode: loopback names only (DNS rebinding), refused as an access. Key mode: the
        server's names (SR-17), refused as a malformed request, one meant for another server."""
        name = host_name(host)
        if not self.required:
            if name is None or name not in LOOPBACK_NAMES:
                raise PermissionDeniedError("Host not allowed", {"header": "Host"})
            return
        if name is None or name not in self.server_names:
            raise ValidationError(
                "The Host header does not name this server (see --server-name)",
                {"header": "Host"},
            )

    def origin_allowed(self, origin: str | None, host: str | None = None) -> bool:
        """No Origin (a script), an allow-listed one, or the server's own (its Web UI).

        Same-origin is judged against the ``Host`` header, which ``check_host`` has already held
        to loopback names in desktop mode, so a rebinding page cannot pass as the UI.
        """
        if origin is None or origin in self.allowed_origins:
            return True
        if host is None:
            return False
        scheme, _, netloc = origin.partition("://")
        return scheme in ("http", "https") and netloc.lower() == host.strip().lower()

    def check_origin(self, origin: str | None, host: str | None = None) -> None:
        if not self.origin_allowed(origin, host):
            raise PermissionDeniedError("Origin not allowed", {"header": "Origin"})

    # -- keys ----------------------------------------------------------------------------------

    async def principal_for(self, raw: str | None, ip: str | None) -> Principal:
        if not self.required:
            return LOCAL_PRINCIPAL
        if not raw:
            await self.failures.record(ip, "missing")
            raise self._unauthorized()
        if not keys.is_well_formed(raw):
            await self._failed(ip, "malformed")
        record, reason = await keys.find_active(raw)
        if record is None:
            await self._failed(ip, reason, None)
        assert record is not None
        await self._touch(record)
        return Principal(record.id, record.role, record.name)

    def check_rate(self, principal: Principal) -> None:
        if principal.key_id is None:
            return
        if not self._limiter.hit(self._key_limit, "key", principal.key_id):
            raise self._rate_limited(self._key_limit, "key", principal.key_id)

    def check_ws_handshake(self, ip: str | None) -> None:
        if not self._limiter.hit(self._ws_limit, "ws", ip or "?"):
            raise self._rate_limited(self._ws_limit, "ws", ip or "?")

    @staticmethod
    def authorize(principal: Principal, permission: Permission | None) -> None:
        if permission is None or not allows(principal.role, permission):
            raise PermissionDeniedError("Access denied", {})

    async def still_valid(self, principal: Principal) -> bool:
        """Re-checked by long-lived WebSockets so a revocation takes effect on them too."""
        if principal.key_id is None:
            return True
        record = await ApiKeyRecord.get_or_none(id=principal.key_id)
        if record is None or record.revoked_at is not None:
            return False
        expires = record.expires_at
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return expires > datetime.now(UTC)

    async def _failed(self, ip: str | None, reason: str, _record: object = None) -> None:
        await self.failures.record(ip, reason)
        if not self._limiter.hit(self._failure_limit, "authfail", ip or "?"):
            raise self._rate_limited(self._failure_limit, "authfail", ip or "?")
        raise self._unauthorized()

    @staticmethod
    def _unauthorized() -> UnauthorizedError:
        return UnauthorizedError(UNAUTHORIZED_MESSAGE, {})

    def _rate_limited(self, item: RateLimitItem, *ids: str) -> RateLimitedError:
        stats = self._limiter.get_window_stats(item, *ids)
        retry = max(1, int(stats.reset_time - time.time() + 0.999))
        return RateLimitedError(
            "Too many requests", retry_after=retry, details={"retry_after": retry}
        )

    async def _touch(self, record: ApiKeyRecord) -> None:
        now = time.monotonic()
        if now - self._last_used.get(record.id, -1e9) < LAST_USED_INTERVAL:
            return
        self._last_used[record.id] = now
        await ApiKeyRecord.filter(id=record.id).update(last_used_at=datetime.now(UTC))


__all__ = ["LOCAL_PRINCIPAL", "Authenticator", "Principal"]
