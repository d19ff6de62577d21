"""Server settings: flags override ``ITK_*`` environment variables, which override defaults."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .server_names import default_server_names, normalise, parse_list

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def default_data_dir() -> Path:
    """A per-user directory, so a desktop install needs no configuration."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ignition-toolbox"


def default_secret_key_file() -> Path:
    """Kept under the config dir, not the data dir: a copied database must not carry its key."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ignition-toolbox" / "secret.key"


def find_repo_playbooks() -> Path | None:
    """The checkout's shipped ``playbooks/`` folder: walk up to the dir holding it and pyproject."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "playbooks").is_dir() and (parent / "pyproject.toml").is_file():
            return parent / "playbooks"
    return None


def is_loopback(host: str) -> bool:
    if host.strip("[]") in LOOPBACK_NAMES or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None
    playbooks_dir: Path | None = None
    auth: bool = False
    max_concurrent: int = 4
    max_queued: int = 1000
    secret_key_file: Path | None = None
    secret_key: str | None = None
    allowed_origins: tuple[str, ...] = ()
    files_dirs: tuple[Path, ...] = ()
    max_upload_bytes: int = 256 * 1024 * 1024
    rate_limit: str = "1200/minute"
    auth_failure_limit: str = "30/minute"
    ws_handshake_limit: str = "30/minute"
    ws_connections_per_key: int = 20
    # SECURITY.md R3 drops a stalled viewer within 5 s of its stall. This timer only starts once
    # the socket buffers in between are full: about 0.5 s at 10 frames/s of 50 KB
    # (bench/server_ws.py).
    ws_send_timeout: float = 4.0
    ws_queue_size: int = 256
    graceful_timeout: float = 10.0
    max_body_bytes: int = 1024 * 1024
    bootstrap_admin: bool = True
    # Names the Host header must carry in key mode; empty: the bind address's names
    # (server_names.default_server_names).
    server_names: tuple[str, ...] = ()
    # Gateway URLs naming link-local, unspecified or multicast addresses are refused unless set:
    # no gateway lives there, but cloud metadata services and the machine's own ports do.
    allow_special_gateway_addresses: bool = False
    # Audit rows older than this go with the maintenance cleanup; 0 keeps them forever.
    audit_retention_days: int = 365

    @property
    def auth_required(self) -> bool:
        """Keys are enforced with ``--auth`` or whenever the server is not loopback-only."""
        return self.auth or not is_loopback(self.host)

    @property
    def resolved_server_names(self) -> frozenset[str]:
        if self.server_names:
            return frozenset(normalise(name) for name in self.server_names)
        return default_server_names(self.host)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.data_dir / 'itk.sqlite3'}"

    @property
    def resolved_secret_key_file(self) -> Path:
        return self.secret_key_file or default_secret_key_file()

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def input_dirs(self) -> list[Path]:
        """Folders steps may read input files from (modules, backups): uploads first."""
        return [self.uploads_dir, *self.files_dirs]

    @property
    def writable_playbooks_dir(self) -> Path:
        return self.data_dir / "playbooks"

    @property
    def repo_playbooks_dir(self) -> Path | None:
        return self.playbooks_dir or find_repo_playbooks()

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}

        def text(name: str) -> str | None:
            value = env.get(f"ITK_{name}")
            return value if value not in (None, "") else None

        if (v := text("HOST")) is not None:
            values["host"] = v
        if (v := text("PORT")) is not None:
            values["port"] = int(v)
        if (v := text("DATA_DIR")) is not None:
            values["data_dir"] = Path(v)
        if (v := text("DATABASE_URL")) is not None:
            values["database_url"] = v
        if (v := text("PLAYBOOKS_DIR")) is not None:
            values["playbooks_dir"] = Path(v)
        if (v := text("AUTH")) is not None:
            values["auth"] = v.lower() in ("1", "true", "yes", "on")
        if (v := text("MAX_CONCURRENT")) is not None:
            values["max_concurrent"] = int(v)
        if (v := text("SECRET_KEY_FILE")) is not None:
            values["secret_key_file"] = Path(v)
        if (v := text("SECRET_KEY")) is not None:
            values["secret_key"] = v
        if (v := text("ALLOWED_ORIGINS")) is not None:
            values["allowed_origins"] = tuple(o.strip() for o in v.split(",") if o.strip())
        if (v := text("FILES_DIRS")) is not None:
            values["files_dirs"] = tuple(Path(p) for p in v.split(os.pathsep) if p)
        if (v := text("RATE_LIMIT")) is not None:
            values["rate_limit"] = v
        if (v := text("SERVER_NAMES")) is not None:
            values["server_names"] = parse_list(v)
        if (v := text("ALLOW_SPECIAL_GATEWAY_ADDRESSES")) is not None:
            values["allow_special_gateway_addresses"] = v.lower() in ("1", "true", "yes", "on")
        if (v := text("AUDIT_RETENTION_DAYS")) is not None:
            values["audit_retention_days"] = int(v)
        settings = cls(**values)
        return settings.with_overrides(**overrides)
