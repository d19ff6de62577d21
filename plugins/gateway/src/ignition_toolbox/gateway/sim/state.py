"""The simulated gateway as one state machine: no I/O, time from an injectable clock.

Everything IGNITION.md §4b/§4c describes lives here (modules, restart phases, trial, projects, tags,
tokens, sessions, backups); ``app.py`` only turns HTTP into calls on this object, so tests can drive
the same behaviour through Python or through HTTP. Behaviours the spec marks [UNC] are fields of
``SimOptions`` so a test can flip them and the client is proven tolerant of both.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import secrets
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..modl import (
    CERTIFICATES,
    ModlError,
    ModuleMetadata,
    open_zip,
    read_member,
    read_modl,
)
from ..versions import parse_version, version_at_least
from .clock import SimClock

Phase = Literal["RUNNING", "STOPPING", "DOWN", "STARTING", "NEEDS_COMMISSIONING"]

BACKUP_MANIFEST = "sim-backup.json"
BACKUP_MARKER = "gateway.xml"
PROJECT_JSON = "project.json"
MAX_PROJECT_BYTES = 64 * 1024 * 1024


class SimHTTPError(Exception):
    """An HTTP error the simulator answers with a Jetty-style HTML page."""

    def __init__(self, status: int, message: str = "", headers: dict[str, str] | None = None):
        super().__init__(message or str(status))
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass
class SimOptions:
    """Construction-time knobs. Durations are simulated seconds (see ``SimClock``)."""

    version: str = "8.3.6"
    build: str = "b2026042713"
    name: str = "Ignition-sim"
    edition: str = "standard"
    hostname: str = "sim-gateway"
    port: int = 8088
    gateway_id: str = "sim0001"
    admin_user: str = "admin"
    admin_password: str = "password"
    commissioned: bool = True
    api_tokens: dict[str, str] = field(default_factory=lambda: {"itk": "sim-secret"})
    token_levels: tuple[str, ...] = ("Administrator",)
    read_levels: tuple[str, ...] = ("Administrator", "ReadOnly")
    write_levels: tuple[str, ...] = ("Administrator",)
    require_secure_api_keys: bool = False
    bearer_auth: bool = False  # [UNC] Authorization: Bearer name:secret, version-dependent
    allow_unsigned_modules: bool = False
    reject_pre_83_modules: bool = False  # [UNC] C19
    uninstall_accepts: Literal["both", "query", "body"] = "both"  # [UNC]
    install_error_status: int = 409  # [UNC] 409 or 400
    import_conflict_status: int = 409  # [UNC]
    gwinfo_reports_starting: bool = True  # [UNC] ContextStatus=STARTING during a restart
    restart_seconds: float = 40.0
    grace_seconds: float = 5.0
    down_seconds: float = 0.0  # [UNC] whether the port drops during a restart
    restore_seconds: float = 1.0
    trial_seconds: float = 7200.0
    idp_name: str = "default"
    continue_label: str = "CONTINUE"  # [UNC] literal uppercase?
    render_delay_ms: int = 300  # Perspective client spinner before views render (§4f)
    table_delay_ms: int = 150  # table rows render after the headers (C7)

    @property
    def flavour(self) -> str:
        return "8.1" if parse_version(self.version)[:2] < (8, 3) else "8.3"

    @property
    def full_version(self) -> str:
        return f"{self.version} ({self.build})"


@dataclass
class SimModule:
    id: str
    name: str
    version: str
    vendor: str = "Inductive Automation"
    description: str = ""
    state: str = "ACTIVE"
    license_state: str = "ACTIVATED"
    cert_accepted: bool = True
    eula_accepted: bool = True
    self_signed: bool = False
    on_startup: str = "ENABLED"
    pending: str | None = None
    staged_version: str | None = None
    fault: bool = False

    def item(self, started: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "state": self.state,
            "licenseState": self.license_state,
            "vendorName": self.vendor,
            "vendorId": self.vendor.lower().replace(" ", "-"),
            "startupTime": f"{int(started * 1000)}",
            "onStartup": self.on_startup,
            "shouldUpgrade": self.pending == "upgrade",
            "description": self.description,
            "selfSigned": self.self_signed,
            "certAccepted": self.cert_accepted,
            "licenseAccepted": self.eula_accepted,
        }


@dataclass
class SimUpload:
    meta: ModuleMetadata
    data: bytes
    contains_cert: bool
    cert_accepted: bool
    contains_eula: bool
    license_accepted: bool
    license_text: str


@dataclass
class SimProject:
    name: str
    files: dict[str, bytes]
    title: str = ""
    description: str = ""
    enabled: bool = True
    parent: str = ""
    inheritable: bool = False
    last_modified: float = 0.0

    def item(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "enabled": self.enabled,
            "parent": self.parent,
            "inheritable": self.inheritable,
            "lastModified": int(self.last_modified * 1000),
            "resourceCount": len(self.files) - (1 if PROJECT_JSON in self.files else 0),
        }


@dataclass
class SimToken:
    name: str
    secret_hash: str
    levels: tuple[str, ...]
    enabled: bool = True
    external: bool = False  # stored under EXTERNAL: survives a restore (O2 pro-tip)


@dataclass
class SimSession:
    user: str
    csrf: str
    created: float


@dataclass
class Faults:
    """Runtime fault knobs (Python and ``POST /__sim__/faults``)."""

    force_503_until: float = 0.0
    drop_until: float = 0.0
    slow_seconds: float = 0.0
    fail_next_upload: str | None = None
    quarantine_ids: set[str] = field(default_factory=set)
    rotate_csrf: bool = False


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _default_modules(version: str) -> dict[str, SimModule]:
    builtin = [
        ("com.inductiveautomation.perspective", "Perspective"),
        ("com.inductiveautomation.opcua", "OPC UA"),
        ("com.inductiveautomation.historian", "Historian"),
        ("com.inductiveautomation.webdev", "Web Developer"),
    ]
    return {mid: SimModule(id=mid, name=name, version=version) for mid, name in builtin}


def _default_tags() -> dict[str, dict[str, Any]]:
    return {
        "default": {
            "name": "",
            "tagType": "Provider",
            "tags": [
                {
                    "name": "Line",
                    "tagType": "Folder",
                    "tags": [
                        {
                            "name": "Start",
                            "tagType": "AtomicTag",
                            "valueSource": "memory",
                            "dataType": "Boolean",
                            "value": False,
                        },
                        {
                            "name": "Speed",
                            "tagType": "AtomicTag",
                            "valueSource": "memory",
                            "dataType": "Float8",
                            "value": 12.5,
                        },
                    ],
                }
            ],
        }
    }


class SimGateway:
    """One simulated gateway. Call methods directly in tests or serve it with ``create_app``."""

    def __init__(self, options: SimOptions | None = None, clock: SimClock | None = None, **kw: Any):
        self.options = options or SimOptions(**kw)
        if options is not None and kw:
            for key, value in kw.items():
                setattr(self.options, key, value)
        self.clock = clock or SimClock()
        now = self.clock.now()
        o = self.options
        self.started_at = now
        self.commissioned = o.commissioned
        self.restart_at: float | None = None
        self.restarts = 0
        self.modules = _default_modules(o.full_version)
        self.quarantined: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, SimUpload] = {}
        self.projects: dict[str, SimProject] = {}
        self.tags = _default_tags()
        self.tag_values: dict[str, Any] = {
            "[default]Line/Start": False,
            "[default]Line/Speed": 12.5,
        }
        self.users: dict[str, str] = {o.admin_user: o.admin_password}
        self.tokens: dict[str, SimToken] = {
            n: SimToken(n, _hash(s), tuple(o.token_levels)) for n, s in o.api_tokens.items()
        }
        self.sessions: dict[str, SimSession] = {}
        self.idp_flows: dict[str, dict[str, Any]] = {}
        self.auth_codes: dict[str, dict[str, Any]] = {}
        self.trial_started_at = now
        self.trial_resets = 0
        self.restart_tasks: list[dict[str, Any]] = []
        self.pending_restore: dict[str, Any] | None = None
        self.pending_toggles: dict[str, bool] = {}
        self.last_scan: dict[str, float] = {}
        self.faults = Faults()
        self.audit: list[dict[str, Any]] = []

    # -- time and phases ---------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def _durations(self) -> tuple[float, float, float]:
        o = self.options
        total = max(0.0, o.restart_seconds)
        grace = min(o.grace_seconds, total * 0.125)
        down = min(o.down_seconds, max(0.0, total - grace))
        return grace, down, total

    @property
    def phase(self) -> Phase:
        """The gateway's state now, applying a finished restart on the way."""
        if not self.commissioned:
            return "NEEDS_COMMISSIONING"
        if self.restart_at is None:
            return "RUNNING"
        elapsed = self.now() - self.restart_at
        grace, down, total = self._durations()
        if elapsed < grace:
            return "STOPPING"
        if elapsed < grace + down:
            return "DOWN"
        if elapsed < total:
            return "STARTING"
        self._finish_restart()
        return "RUNNING"

    def sync(self) -> SimGateway:
        """Bring the state up to the clock (finish a due restart); getters call this themselves."""
        _ = self.phase
        return self

    def refusing_connections(self) -> bool:
        """True while the webserver is meant to be gone (restart ``down_seconds`` or a drop fault)."""
        return self.phase == "DOWN" or self.now() < self.faults.drop_until

    def unavailable(self) -> bool:
        """True while ``/data`` and UI routes must answer 503."""
        return self.phase == "STARTING" or self.now() < self.faults.force_503_until

    def restart(self) -> None:
        """Begin the restart sequence (RUNNING → STOPPING → [DOWN] → STARTING → RUNNING)."""
        if self.restart_at is not None and self.phase != "RUNNING":
            return
        self.restart_at = self.now()
        self.restarts += 1

    def _finish_restart(self) -> None:
        self.restart_at = None
        if self.pending_restore is not None:
            self._apply_snapshot(self.pending_restore)
            self.pending_restore = None
        for mid, module in list(self.modules.items()):
            if module.pending == "uninstall":
                del self.modules[mid]
                continue
            if module.pending in ("install", "upgrade"):
                if module.staged_version:
                    module.version = module.staged_version
                module.state = "ACTIVE"
            module.pending = None
            module.staged_version = None
            if mid in self.pending_toggles:
                module.state = "ACTIVE" if self.pending_toggles[mid] else "INACTIVE"
                module.on_startup = "ENABLED" if self.pending_toggles[mid] else "DISABLED"
            if module.fault or mid in self.faults.quarantine_ids:
                del self.modules[mid]
                self.quarantined[mid] = {
                    "id": mid,
                    "name": module.name,
                    "version": module.version,
                    "certAccepted": module.cert_accepted,
                    "licenseAccepted": module.eula_accepted,
                    "reason": "Module failed to start: simulated fault (SIM:FAULT)",
                }
        self.pending_toggles.clear()
        self.restart_tasks.clear()
        self.sessions.clear()
        self.idp_flows.clear()
        self.auth_codes.clear()
        self.started_at = self.now()

    def _add_task(self, kind: str, description: str) -> None:
        self.restart_tasks.append(
            {"id": secrets.token_hex(4), "type": kind, "description": description}
        )

    # -- liveness and info -------------------------------------------------------------------

    def status_ping(self) -> dict[str, Any]:
        phase = self.phase
        if phase == "NEEDS_COMMISSIONING":
            return {"state": "RUNNING", "details": "COMMISSIONING"}
        if phase == "STARTING":
            return {"state": "STARTING"}
        return {"state": "RUNNING"}

    def gwinfo(self) -> str:
        o = self.options
        phase = self.phase
        context = {
            "NEEDS_COMMISSIONING": "NEEDS_COMMISSIONING",
            "STARTING": "STARTING" if o.gwinfo_reports_starting else "RUNNING",
        }.get(phase, "RUNNING")
        pairs = [
            ("ContextStatus", context),
            ("PlatformName", o.name),
            ("Version", o.version),
            ("PlatformEdition", o.edition),
            ("OS", "Linux"),
            ("RuntimeVersion", "17.0.11"),
            ("RedundancyStatus", "Independent"),
            ("RedundantState", "Good"),
            ("RedundantNodeActiveStatus", "Active"),
        ]
        return "".join(f"{k}={v};" for k, v in pairs)

    def trial_seconds_left(self) -> int:
        left = self.options.trial_seconds - (self.now() - self.trial_started_at)
        return max(0, math.ceil(left))

    def gateway_info(self) -> dict[str, Any]:
        o = self.options
        return {
            "allowUnsignedModules": o.allow_unsigned_modules,
            "deploymentMode": "prd",
            "edition": o.edition,
            "hostname": o.hostname,
            "ignitionVersion": o.full_version,
            "jvmVersion": "17.0.11+9",
            "license": {
                "expirationDate": None,
                "licenseRestrictions": [],
                "mode": "Trial",
                "validForVersion": ".".join(o.version.split(".")[:2]),
            },
            "name": o.name,
            "port": o.port,
            "redundancyRole": "Independent",
            "timeZone": "Coordinated Universal Time",
            "timeZoneId": "UTC",
        }

    def overview(self) -> dict[str, Any]:
        return {
            "name": self.options.name,
            "version": self.options.full_version,
            "redundancy": {
                "role": "Independent",
                "activityLevel": "Active",
                "projectState": "Good",
            },
            "java": {"version": "17.0.11", "vendor": "Eclipse Adoptium"},
            "os": {"name": "Linux", "version": "6.1", "arch": "amd64"},
            "uptime": int((self.now() - self.started_at) * 1000),
            "memory": [512 * 1024 * 1024, 2048 * 1024 * 1024],
            "cpu": 0.07,
            "disk": {"total": 100 * 1024**3, "used": 12 * 1024**3},
            "license": {"state": "trial", "trialRemaining": self.trial_seconds_left()},
        }

    def trial(self) -> dict[str, Any]:
        left = self.trial_seconds_left()
        return {
            "licenseMode": "Trial",
            "trialState": "AllInDemo",
            "trialSecondsLeft": left,
            "expired": left <= 0,
            "emergency": False,
            "emergencySecondsLeft": 0,
            "development": False,
            "developmentSecondsLeft": 0,
        }

    def banners(self) -> dict[str, Any]:
        left = self.trial_seconds_left()
        expired = left <= 0
        return {
            "banners": [
                {
                    "order": 0,
                    "type": "trial",
                    "data": {
                        "severity": "warning" if expired else "info",
                        "expireTime": None if expired else int((self.now() + left) * 1000),
                        "toolTips": [],
                        "actions": ["reset"] if expired else ["activate"],
                    },
                }
            ]
        }

    def licenses(self) -> dict[str, Any]:
        return {
            "items": [
                {
                    "licenseKey": None,
                    "mode": "Trial",
                    "edition": self.options.edition,
                    "trialSecondsLeft": self.trial_seconds_left(),
                }
            ],
            "metadata": {"total": 1},
        }

    def reset_trial(self) -> dict[str, Any]:
        if self.trial_seconds_left() > 0:
            raise SimHTTPError(403, "Trial has not expired")
        self.trial_started_at = self.now()
        self.trial_resets += 1
        return self.trial()

    def expire_trial(self) -> None:
        self.trial_started_at = self.now() - self.options.trial_seconds - 1

    # -- auth --------------------------------------------------------------------------------

    def check_token(self, value: str, *, write: bool, secure: bool) -> str:
        """Return the token name for ``name:secret`` or raise 401/403 as a real gateway does."""
        if self.options.require_secure_api_keys and not secure:
            raise SimHTTPError(401, "API keys require a secure connection")
        name, sep, secret = value.partition(":")
        if not sep or not name or not secret:
            raise SimHTTPError(401, "Unauthorized")
        token = self.tokens.get(name)
        if token is None or not token.enabled or token.secret_hash != _hash(secret):
            raise SimHTTPError(401, "Unauthorized")
        needed = self.options.write_levels if write else self.options.read_levels
        if not set(token.levels) & set(needed):
            raise SimHTTPError(403, "Forbidden")
        return name

    def add_token(
        self,
        name: str,
        secret: str,
        levels: tuple[str, ...] | list[str] | None = None,
        *,
        external: bool = False,
        enabled: bool = True,
    ) -> None:
        levels = tuple(levels if levels is not None else self.options.token_levels)
        self.tokens[name] = SimToken(name, _hash(secret), levels, enabled, external)

    def generate_token(self) -> dict[str, str]:
        key = secrets.token_urlsafe(32)
        return {"key": key, "hash": _hash(key)}

    def create_tokens(self, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        created = []
        for res in resources:
            if not isinstance(res, dict) or not res.get("name"):
                raise SimHTTPError(400, "Each api-token resource needs a name")
            config = res.get("config") or {}
            key_hash = config.get("keyHash") or config.get("hash")
            if not key_hash and config.get("key"):
                key_hash = _hash(str(config["key"]))
            if not key_hash:
                raise SimHTTPError(400, "api-token config needs keyHash (from /api-token/generate)")
            levels = tuple(config.get("securityLevels") or self.options.token_levels)
            self.tokens[res["name"]] = SimToken(
                res["name"],
                key_hash,
                levels,
                bool(res.get("enabled", True)),
                res.get("collection") == "external",
            )
            created.append({"name": res["name"], "signature": secrets.token_hex(8)})
        return created

    def session(self, sid: str | None) -> SimSession | None:
        return self.sessions.get(sid or "")

    @property
    def session_cookie(self) -> str:
        return f"webui-sid-{self.options.gateway_id}"

    # -- IdP login flow (IGNITION.md §2c) ----------------------------------------------------

    def _new_flow_token(self, flow: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(16)
        self.idp_flows[token] = flow
        return token

    def _take_flow(self, token: Any) -> dict[str, Any]:
        flow = self.idp_flows.pop(str(token or ""), None)
        if flow is None:
            raise SimHTTPError(400, "Invalid or expired token")
        return flow

    def idp_start(self, params: dict[str, str]) -> str:
        """First ``oidc/auth`` hit: remember the request and hand out challenge token T0."""
        return self._new_flow_token({"params": dict(params), "user": None, "complete": False})

    def idp_next_challenge(self, token: Any) -> dict[str, Any]:
        flow = self._take_flow(token)
        if flow["user"]:
            flow["complete"] = True
            return {"complete": True, "token": self._new_flow_token(flow)}
        return {
            "complete": False,
            "nextChallenge": [{"type": "basic"}],
            "token": self._new_flow_token(flow),
        }

    def idp_submit_basic(self, token: Any, challenge: dict[str, Any]) -> dict[str, Any]:
        flow = self._take_flow(token)
        user = str(challenge.get("username", ""))
        ok = user in self.users and self.users[user] == str(challenge.get("password", ""))
        if ok:
            flow["user"] = user
        return {"success": ok, "token": self._new_flow_token(flow)}

    def idp_finish(self, token: str) -> dict[str, str]:
        """``oidc/auth`` with a completed token: issue the authorization code."""
        flow = self._take_flow(token)
        if not flow.get("complete"):
            raise SimHTTPError(400, "Login not complete")
        code = secrets.token_urlsafe(16)
        self.auth_codes[code] = {"user": flow["user"], "state": flow["params"].get("state", "")}
        return {"code": code, "state": flow["params"].get("state", "")}

    def idp_callback(self, code: str) -> str:
        """Exchange the code for a web session; returns the session id."""
        grant = self.auth_codes.pop(code, None)
        if grant is None:
            raise SimHTTPError(400, "Invalid authorization code")
        sid = secrets.token_urlsafe(24)
        self.sessions[sid] = SimSession(grant["user"], secrets.token_urlsafe(24), self.now())
        return sid

    def session_info(self, sid: str | None) -> dict[str, Any]:
        session = self.session(sid)
        if session is None:
            raise SimHTTPError(401, "Unauthorized")
        if self.faults.rotate_csrf:
            session.csrf = secrets.token_urlsafe(24)
        return {
            "userPayload": {
                "username": session.user,
                "roles": ["Administrator"],
                "securityLevels": ["Authenticated", "Administrator"],
            },
            "csrfToken": session.csrf,
        }

    def commission(self, username: str, password: str) -> None:
        if not username or not password:
            raise SimHTTPError(400, "Commissioning needs a username and a password")
        self.users = {username: password}
        self.commissioned = True

    # -- modules -----------------------------------------------------------------------------

    def healthy_modules(
        self, *, limit: int | None = None, offset: int = 0, search: str = ""
    ) -> dict[str, Any]:
        self.sync()
        items = [m.item(self.started_at) for m in self.modules.values()]
        if search:
            needle = search.lower()
            items = [i for i in items if needle in i["name"].lower() or needle in i["id"].lower()]
        total = len(items)
        items = items[offset:] if limit is None else items[offset : offset + limit]
        return {"items": items, "metadata": {"total": total}}

    def quarantined_modules(self) -> dict[str, Any]:
        self.sync()
        items = list(self.quarantined.values())
        return {"items": items, "metadata": {"total": len(items)}}

    def upload_module(self, data: bytes, file_name: str) -> dict[str, Any]:
        if not file_name:
            raise SimHTTPError(400, "Missing fileName")
        if self.faults.fail_next_upload is not None:
            message = self.faults.fail_next_upload or "Upload failed"
            self.faults.fail_next_upload = None
            raise SimHTTPError(500, message)
        try:
            meta = read_modl(data)
        except ModlError as exc:
            raise SimHTTPError(400, f"Invalid module file: {exc}") from exc
        have = self.options.version
        need = meta.required_ignition_version
        if need and not version_at_least(have, need):
            raise SimHTTPError(
                400, f"Module {meta.id} requires Ignition {need}; this gateway is {have}"
            )
        if (
            self.options.reject_pre_83_modules
            and self.options.flavour == "8.3"
            and not version_at_least(need or "0", "8.3")
        ):
            raise SimHTTPError(
                400, f"Module {meta.id} requires Ignition {need or '?'}, below 8.3; not loadable"
            )
        if not meta.signed and not self.options.allow_unsigned_modules:
            raise SimHTTPError(
                400, f"Module {meta.id} is unsigned and unsigned modules are not allowed"
            )
        license_text = ""
        if meta.license:
            with open_zip(data) as archive:
                raw = read_member(archive, meta.license, max_bytes=1024 * 1024)
                license_text = (raw or b"").decode("utf-8", "replace") or "End user license"
        contains_cert = CERTIFICATES in meta.entries
        cert_accepted = not contains_cert
        upload = SimUpload(
            meta=meta,
            data=data,
            contains_cert=contains_cert,
            cert_accepted=cert_accepted,
            contains_eula=bool(meta.license),
            license_accepted=not meta.license,
            license_text=license_text,
        )
        self.uploads[meta.id] = upload
        return {
            "moduleId": meta.id,
            "containsCert": upload.contains_cert,
            "certAccepted": upload.cert_accepted,
            "containsEula": upload.contains_eula,
            "licenseAccepted": upload.license_accepted,
        }

    def _upload(self, module_id: str) -> SimUpload:
        upload = self.uploads.get(module_id)
        if upload is None:
            raise SimHTTPError(404, f"No uploaded module with id {module_id}")
        return upload

    def certificate(self, module_id: str) -> dict[str, Any]:
        upload = self._upload(module_id)
        if not upload.contains_cert:
            raise SimHTTPError(404, f"Module {module_id} has no certificate")
        return {
            "moduleId": module_id,
            "subject": f"CN={upload.meta.name}, O=Simulated Vendor",
            "issuer": "CN=Simulated CA",
            "serialNumber": hashlib.sha1(module_id.encode()).hexdigest()[:16],
            "validFrom": "2025-01-01T00:00:00Z",
            "validTo": "2035-01-01T00:00:00Z",
            "accepted": upload.cert_accepted,
        }

    def accept_certificate(self, module_id: str) -> dict[str, Any]:
        upload = self._upload(module_id)
        if upload.cert_accepted:
            raise SimHTTPError(409, f"Certificate for {module_id} already accepted")
        upload.cert_accepted = True
        return {"moduleId": module_id, "certAccepted": True}

    def eula(self, module_id: str) -> str:
        upload = self._upload(module_id)
        if not upload.contains_eula:
            raise SimHTTPError(404, f"Module {module_id} has no EULA")
        return upload.license_text

    def accept_eula(self, module_id: str) -> dict[str, Any]:
        upload = self._upload(module_id)
        if upload.license_accepted:
            raise SimHTTPError(409, f"EULA for {module_id} already accepted")
        upload.license_accepted = True
        return {"moduleId": module_id, "licenseAccepted": True}

    def install_module(self, module_id: str) -> dict[str, Any]:
        status = self.options.install_error_status
        upload = self.uploads.get(module_id)
        if upload is None:
            raise SimHTTPError(status, f"No uploaded module with id {module_id}")
        if not upload.cert_accepted:
            raise SimHTTPError(status, f"The certificate of {module_id} has not been accepted")
        if not upload.license_accepted:
            raise SimHTTPError(status, f"The license of {module_id} has not been accepted")
        meta = upload.meta
        fault = "SIM:FAULT" in meta.description
        existing = self.modules.get(module_id)
        self.quarantined.pop(module_id, None)
        if existing is not None:
            existing.pending = "upgrade"
            existing.staged_version = meta.version
            existing.fault = fault
            existing.description = meta.description
            action = "upgrade"
        else:
            self.modules[module_id] = SimModule(
                id=module_id,
                name=meta.name,
                version=meta.version,
                vendor="Simulated Vendor",
                description=meta.description,
                state="INACTIVE",
                license_state="FREE" if meta.free_module else "TRIAL",
                cert_accepted=upload.cert_accepted,
                eula_accepted=upload.license_accepted,
                self_signed=not meta.signed,
                pending="install",
                staged_version=meta.version,
                fault=fault,
            )
            action = "install"
        del self.uploads[module_id]
        self._add_task(f"module-{action}", f"{action.title()} module {meta.name} {meta.version}")
        return {"success": True, "moduleId": module_id, "action": action, "restartRequired": True}

    def uninstall_modules(self, ids: list[str]) -> dict[str, Any]:
        failed = [mid for mid in ids if mid not in self.modules]
        for mid in ids:
            if mid in self.modules:
                self.modules[mid].pending = "uninstall"
                self._add_task("module-uninstall", f"Uninstall module {mid}")
        return {"success": not failed and bool(ids), "failedUninstalls": {"uninstall": failed}}

    def toggle_modules(self, enable: list[str], disable: list[str]) -> dict[str, Any]:
        unknown = [m for m in [*enable, *disable] if m not in self.modules]
        if unknown:
            raise SimHTTPError(404, f"Unknown module(s): {', '.join(unknown)}")
        for mid in enable:
            self.pending_toggles[mid] = True
        for mid in disable:
            self.pending_toggles[mid] = False
        if enable or disable:
            self._add_task("module-toggle", "Enable/disable modules")
        return {"success": True}

    # -- projects ----------------------------------------------------------------------------

    def project(self, name: str) -> SimProject:
        self.sync()
        project = self.projects.get(name)
        if project is None:
            raise SimHTTPError(404, f"Project {name} not found")
        return project

    def list_projects(self, *, limit: int | None = None, offset: int = 0) -> dict[str, Any]:
        self.sync()
        items = [p.item() for p in sorted(self.projects.values(), key=lambda p: p.name)]
        total = len(items)
        items = items[offset:] if limit is None else items[offset : offset + limit]
        return {"items": items, "metadata": {"total": total}}

    def export_project(self, name: str) -> bytes:
        project = self.project(name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, data in sorted(project.files.items()):
                archive.writestr(path, data)
        return buffer.getvalue()

    def import_project(self, name: str, data: bytes, *, overwrite: bool = False) -> dict[str, Any]:
        if not name:
            raise SimHTTPError(400, "Missing project name")
        if name in self.projects and not overwrite:
            raise SimHTTPError(
                self.options.import_conflict_status, f"Project {name} already exists"
            )
        files = _read_project_zip(data)
        meta = json.loads(files[PROJECT_JSON] or b"{}")
        self.projects[name] = SimProject(
            name=name,
            files=files,
            title=str(meta.get("title", name)),
            description=str(meta.get("description", "")),
            enabled=bool(meta.get("enabled", True)),
            parent=str(meta.get("parent", "") or ""),
            inheritable=bool(meta.get("inheritable", False)),
            last_modified=self.now(),
        )
        return {"success": True, "name": name}

    def scan(self, what: str) -> dict[str, Any]:
        self.last_scan[what] = self.now()
        return {
            "scanActive": False,
            "lastScanTimestamp": int(self.now() * 1000),
            "lastScanDuration": 12,
        }

    # -- tags --------------------------------------------------------------------------------

    def _tag_folder(self, provider: str, path: str, *, create: bool = False) -> dict[str, Any]:
        root = self.tags.get(provider)
        if root is None:
            raise SimHTTPError(404, f"Tag provider {provider} not found")
        node = root
        for part in [p for p in path.strip("/").split("/") if p]:
            match = next((t for t in node.setdefault("tags", []) if t.get("name") == part), None)
            if match is None:
                if not create:
                    raise SimHTTPError(404, f"Tag path {path} not found")
                match = {"name": part, "tagType": "Folder", "tags": []}
                node["tags"].append(match)
            node = match
        return node

    def export_tags(
        self, provider: str = "default", path: str = "", recursive: bool = True
    ) -> dict[str, Any]:
        node = json.loads(json.dumps(self._tag_folder(provider, path)))
        if not recursive:
            for child in node.get("tags", []):
                child.pop("tags", None)
        return node

    def import_tags(
        self, provider: str, path: str, payload: Any, policy: str = "Abort"
    ) -> dict[str, Any]:
        if isinstance(payload, dict):
            incoming = payload.get("tags", [payload] if "tagType" in payload else [])
        elif isinstance(payload, list):
            incoming = payload
        else:
            raise SimHTTPError(400, "Tag import body must be tag JSON")
        folder = self._tag_folder(provider, path, create=True)
        children = folder.setdefault("tags", [])
        summary = {"created": 0, "overwritten": 0, "ignored": 0, "renamed": 0}
        for tag in incoming:
            if not isinstance(tag, dict) or not tag.get("name"):
                raise SimHTTPError(400, "Every tag needs a name")
            index = next((i for i, t in enumerate(children) if t.get("name") == tag["name"]), None)
            if index is None:
                children.append(tag)
                summary["created"] += 1
            elif policy == "Abort":
                raise SimHTTPError(409, f"Tag {tag['name']} already exists (collisionPolicy=Abort)")
            elif policy in ("Overwrite", "MergeOverwrite"):
                children[index] = tag
                summary["overwritten"] += 1
            elif policy == "Rename":
                children.append({**tag, "name": f"{tag['name']}_1"})
                summary["renamed"] += 1
            else:
                summary["ignored"] += 1
        return summary

    # -- backups -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        self.sync()
        return {
            "format": "itk-sim-gwbk/1",
            "gateway": {"name": self.options.name, "version": self.options.version},
            "modules": {mid: asdict(m) for mid, m in self.modules.items() if not m.pending},
            "projects": {
                name: {
                    **{k: v for k, v in asdict(p).items() if k != "files"},
                    "files": {path: base64.b64encode(d).decode() for path, d in p.files.items()},
                }
                for name, p in self.projects.items()
            },
            "tags": self.tags,
            "tag_values": self.tag_values,
            "tokens": {n: asdict(t) for n, t in self.tokens.items() if not t.external},
            "users": self.users,
        }

    def backup(self, kind: str = "all") -> tuple[bytes, str]:
        if kind not in ("all", "roaming"):
            raise SimHTTPError(400, "type must be roaming or all")
        snap = self.snapshot()
        stamp = _stamp(self.now())
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(BACKUP_MARKER, f'<gateway name="{self.options.name}" type="{kind}"/>')
            archive.writestr(BACKUP_MANIFEST, json.dumps(snap, default=list))
            for name, project in self.projects.items():
                for path, data in project.files.items():
                    archive.writestr(f"projects/{name}/{path}", data)
        return buffer.getvalue(), f"{self.options.name}_{stamp}.gwbk"

    def restore(
        self, data: bytes, *, restore_disabled: bool = False, new_name: str | None = None
    ) -> None:
        """Validate a backup and schedule it; the caller waits ``restore_seconds`` then restarts."""
        try:
            with open_zip(data, what="backup") as archive:
                if BACKUP_MARKER not in archive.namelist():
                    raise SimHTTPError(400, "Not a gateway backup (no gateway.xml)")
                raw = read_member(
                    archive, BACKUP_MANIFEST, max_bytes=MAX_PROJECT_BYTES, max_ratio=1000
                )
        except ModlError as exc:
            raise SimHTTPError(400, f"Invalid backup file: {exc}") from exc
        if raw is None:
            raise SimHTTPError(400, "Backup has no sim-backup.json")
        try:
            snap = json.loads(raw)
        except ValueError as exc:
            raise SimHTTPError(400, "Backup manifest is not JSON") from exc
        if new_name:
            snap["gateway"]["name"] = new_name
        if restore_disabled:
            for project in snap.get("projects", {}).values():
                project["enabled"] = False
        self.pending_restore = snap

    def _apply_snapshot(self, snap: dict[str, Any]) -> None:
        self.options.name = snap.get("gateway", {}).get("name", self.options.name)
        self.modules = {mid: SimModule(**m) for mid, m in snap.get("modules", {}).items()}
        self.projects = {}
        for name, p in snap.get("projects", {}).items():
            files = {path: base64.b64decode(d) for path, d in p.pop("files", {}).items()}
            self.projects[name] = SimProject(files=files, **p)
        self.tags = snap.get("tags", {})
        self.tag_values = snap.get("tag_values", {})
        external = {n: t for n, t in self.tokens.items() if t.external}
        tokens = {}
        for name, t in snap.get("tokens", {}).items():
            t["levels"] = tuple(t.get("levels", ()))
            tokens[name] = SimToken(**t)
        self.tokens = {**tokens, **external}
        self.users = snap.get("users", self.users)
        self.uploads.clear()
        self.quarantined.clear()

    # -- introspection -----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        self.sync()
        return {
            "phase": self.phase,
            "version": self.options.full_version,
            "flavour": self.options.flavour,
            "restarts": self.restarts,
            "modules": {
                m.id: {"version": m.version, "state": m.state, "pending": m.pending}
                for m in self.modules.values()
            },
            "quarantined": sorted(self.quarantined),
            "projects": sorted(self.projects),
            "restart_tasks": len(self.restart_tasks),
            "trial_seconds_left": self.trial_seconds_left(),
            "sessions": len(self.sessions),
        }


def _stamp(now: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%d_%H%M")


def _read_project_zip(data: bytes) -> dict[str, bytes]:
    try:
        with open_zip(data, what="project", max_entries=5000) as archive:
            files: dict[str, bytes] = {}
            total = 0
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name = info.filename
                if name.startswith("/") or ".." in name.split("/"):
                    raise SimHTTPError(400, f"Project zip has an unsafe path: {name}")
                raw = read_member(archive, name, max_bytes=MAX_PROJECT_BYTES, max_ratio=1000)
                total += len(raw or b"")
                if total > MAX_PROJECT_BYTES:
                    raise SimHTTPError(400, "Project zip is too large")
                files[name] = raw or b""
    except ModlError as exc:
        raise SimHTTPError(400, f"Invalid project file: {exc}") from exc
    if PROJECT_JSON not in files:
        raise SimHTTPError(400, "Project zip has no project.json")
    try:
        json.loads(files[PROJECT_JSON] or b"{}")
    except ValueError as exc:
        raise SimHTTPError(400, "project.json is not valid JSON") from exc
    return files


__all__ = ["Faults", "SimGateway", "SimHTTPError", "SimModule", "SimOptions", "SimProject"]
