"""Server settings: flags override ``ITK_*`` environment variables, which override defaults."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
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


@dataclass(frozen=True)
class EnvVar:
    """How a setting is read from ``ITK_<name>`` and described by ``itk serve --help``: the one
    declaration both come from. ``option`` is the ``itk serve`` flag that sets it too, or None
    for a setting only the environment sets (a secret has no flag: ``ps`` would show it)."""

    name: str
    help: str
    parse: Callable[[str], Any] = str
    option: str | None = None

    @property
    def variable(self) -> str:
        return f"ITK_{self.name}"


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes", "on")


def parse_origins(value: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in value.split(",") if o.strip())


def _paths(value: str) -> tuple[Path, ...]:
    return tuple(Path(p) for p in value.split(os.pathsep) if p)


def parse_pid(value: str) -> int:
    pid = int(value)
    if pid <= 0:
        raise ValueError(f"not a process id: {value!r}")
    return pid


def env(
    name: str, help: str, parse: Callable[[str], Any] = str, option: str | None = None
) -> dict[str, EnvVar]:
    """The ``metadata`` of a settings field read from ``ITK_<name>``, shown by ``--help``."""
    return {"env": EnvVar(name, help, parse, option)}


def is_loopback(host: str) -> bool:
    if host.strip("[]") in LOOPBACK_NAMES or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    host: str = field(
        default="127.0.0.1",
        metadata=env("HOST", "bind address (default 127.0.0.1)", option="--host"),
    )
    port: int = field(
        default=5000,
        metadata=env("PORT", "port, 0 for a free one (default 5000)", parse=int, option="--port"),
    )
    data_dir: Path = field(
        default_factory=default_data_dir,
        metadata=env(
            "DATA_DIR",
            "data directory: database, artifacts, uploads (default: the per-user data folder)",
            parse=Path,
            option="--data-dir",
        ),
    )
    database_url: str | None = field(
        default=None,
        metadata=env(
            "DATABASE_URL",
            "sqlite://PATH or postgres://... (default: SQLite in the data directory)",
            option="--database-url",
        ),
    )
    playbooks_dir: Path | None = field(
        default=None,
        metadata=env(
            "PLAYBOOKS_DIR",
            "read-only playbook folder (default: the checkout's playbooks/)",
            parse=Path,
            option="--playbooks-dir",
        ),
    )
    auth: bool = field(
        default=False,
        metadata=env("AUTH", "require API keys even on loopback", parse=_flag, option="--auth"),
    )
    max_concurrent: int = field(
        default=4,
        metadata=env(
            "MAX_CONCURRENT",
            "executions run at once (default 4)",
            parse=int,
            option="--max-concurrent",
        ),
    )
    max_queued: int = 1000
    secret_key_file: Path | None = field(
        default=None,
        metadata=env(
            "SECRET_KEY_FILE",
            "credential key file (default: ~/.config/ignition-toolbox/secret.key)",
            parse=Path,
            option="--secret-key-file",
        ),
    )
    secret_key: str | None = field(
        default=None, metadata=env("SECRET_KEY", "the credential key itself, instead of a key file")
    )
    # Exact Origin values, besides the server's own, whose pages may call the API and open the
    # WebSocket: an Electron renderer sends ``file://``, ``null``, ``app://…`` or a dev server's.
    allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata=env(
            "ALLOWED_ORIGINS",
            "comma-separated Origin values whose pages may use the API and WebSocket, e.g. "
            "'app://itk,file://,null,http://localhost:5173' for an Electron renderer",
            parse=parse_origins,
            option="--allowed-origins",
        ),
    )
    files_dirs: tuple[Path, ...] = field(
        default=(),
        metadata=env(
            "FILES_DIRS",
            "a folder steps may read input files from, besides DATA_DIR/uploads; repeatable "
            f"(the variable: folders separated by {os.pathsep!r})",
            parse=_paths,
            option="--files-dir",
        ),
    )
    max_upload_bytes: int = 256 * 1024 * 1024
    rate_limit: str = field(
        default="1200/minute",
        metadata=env("RATE_LIMIT", "requests per API key (default 1200/minute)"),
    )
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
    server_names: tuple[str, ...] = field(
        default=(),
        metadata=env(
            "SERVER_NAMES",
            "a name or address clients reach the server by; with keys on, requests whose Host "
            "is not one are refused. Repeatable, or comma-separated (default: the bind address and "
            "its names)",
            parse=parse_list,
            option="--server-name",
        ),
    )
    # Gateway URLs naming link-local, unspecified or multicast addresses are refused unless set:
    # no gateway lives there, but cloud metadata services and the machine's own ports do.
    allow_special_gateway_addresses: bool = field(
        default=False,
        metadata=env(
            "ALLOW_SPECIAL_GATEWAY_ADDRESSES",
            "accept gateway URLs naming link-local, unspecified or multicast addresses",
            parse=_flag,
            option="--allow-special-gateway-addresses",
        ),
    )
    # Audit rows older than this go with the maintenance cleanup; 0 keeps them forever.
    audit_retention_days: int = field(
        default=365,
        metadata=env(
            "AUDIT_RETENTION_DAYS",
            "audit rows older than this go with the maintenance cleanup; 0 keeps them "
            "(default 365)",
            parse=int,
            option="--audit-retention-days",
        ),
    )
    # The server stops, as on SIGTERM, once this process is gone (an Electron shell's pid), so
    # a shell that dies does not leave it running.
    parent_pid: int | None = field(
        default=None,
        metadata=env(
            "PARENT_PID",
            "stop, as on SIGTERM, once the process with this id is gone (an Electron shell)",
            parse=parse_pid,
            option="--parent-pid",
        ),
    )
    # The server stops, as on SIGTERM, at the end of its standard input (the shell's pipe).
    stdin_watch: bool = field(
        default=False,
        metadata=env(
            "STDIN_WATCH",
            "stop, as on SIGTERM, at the end of standard input (its writer closed the pipe or "
            "died)",
            parse=_flag,
            option="--stdin-watch",
        ),
    )

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

        for item in fields(cls):
            var = env_var(item.name)
            if var is not None and (v := text(var.name)) is not None:
                values[item.name] = var.parse(v)
        settings = cls(**values)
        return settings.with_overrides(**overrides)


def env_var(name: str) -> EnvVar | None:
    """The ``ITK_*`` declaration of the settings field ``name``, if it has one."""
    for item in fields(Settings):
        if item.name == name:
            var = item.metadata.get("env")
            return var if isinstance(var, EnvVar) else None
    raise KeyError(name)


def env_vars() -> dict[str, EnvVar]:
    """Every settings field read from the environment, in declaration order."""
    return {name: var for name in (f.name for f in fields(Settings)) if (var := env_var(name))}
