"""``create_app(settings)``: the Quart app, its guards, and its start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
import uuid

from quart import Quart, Response, g, request, websocket

from ignition_toolbox.core import PlaybookLibrary, PlaybookRoot, PluginManager, RateLimitedError

from . import keys
from .auth import Authenticator
from .body_drain import settle_body
from .broadcast import Hub
from .database import close_database, open_database
from .errors import check_api_path, register_error_handlers
from .executions import ExecutionManager
from .path_ids import check_path_ids
from .permissions import Permission, permission_for
from .request_class import request_class
from .routes import BLUEPRINTS
from .settings import Settings
from .state import EXTENSION, AppState, current
from .vault import open_vault
from .websocket import blueprint as websocket_blueprint
from .webui import blueprint as webui_blueprint

log = logging.getLogger(__name__)

CLIENT_DRAIN_SECONDS = 2.0


def build_library(settings: Settings, plugins: PluginManager) -> PlaybookLibrary:
    extra = []
    repo = settings.repo_playbooks_dir
    if repo is not None and repo.is_dir():
        extra.append(PlaybookRoot("repo", repo, writable=False))
    return PlaybookLibrary.from_plugins(
        plugins, writable=settings.writable_playbooks_dir, extra=extra
    )


def create_app(settings: Settings, *, plugins: PluginManager | None = None) -> Quart:
    app = Quart(__name__, static_folder=None)
    app.request_class = request_class(settings.max_upload_bytes)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        BODY_TIMEOUT=10,
        RESPONSE_TIMEOUT=60,
    )
    # Bodies keep the guide's field order. Quart reads this here, not from a JSON_SORT_KEYS config
    # key (removed in Quart 0.19); sorting doubled the cost of encoding a page of executions.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    plugins = plugins or PluginManager()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state = AppState(
        settings=settings,
        plugins=plugins,
        library=build_library(settings, plugins),
        hub=Hub(),
        auth=Authenticator(settings),
    )
    app.extensions[EXTENSION] = state
    register_error_handlers(app)
    for blueprint in (*BLUEPRINTS, websocket_blueprint, webui_blueprint):
        app.register_blueprint(blueprint)

    @app.before_serving
    async def _startup() -> None:
        await prepare(app)

    @app.after_serving
    async def _shutdown() -> None:
        await stop_activity(app)
        if state.database is not None:
            await state.auth.failures.close()
            await close_database(state.database)
            state.database = None

    @app.before_request
    async def _guard_request() -> Response | None:
        g.request_id = uuid.uuid4().hex[:16]
        auth = current().auth
        auth.check_host(request.headers.get("Host"))
        origin = request.headers.get("Origin")
        auth.check_origin(origin, request.headers.get("Host"))
        check_api_path()  # // and encoded slashes: 400 invalid_path, never a merge-redirect
        if request.method == "OPTIONS":
            return Response("", status=204)
        endpoint = request.url_rule.endpoint if request.url_rule else None
        permission = permission_for(endpoint)
        if permission is not Permission.PUBLIC:
            who = await auth.principal_for(request.headers.get("X-API-Key"), request.remote_addr)
            auth.check_rate(who)
            g.principal = who
            if endpoint is not None:
                auth.authorize(who, permission)
        # After authorization, so a caller without access learns nothing from an id's shape.
        check_path_ids(request.view_args)
        return None

    @app.before_websocket
    async def _guard_websocket() -> None:
        g.request_id = uuid.uuid4().hex[:16]
        state = current()
        auth = state.auth
        auth.check_host(websocket.headers.get("Host"))
        auth.check_origin(websocket.headers.get("Origin"), websocket.headers.get("Host"))
        auth.check_ws_handshake(websocket.remote_addr)
        raw = websocket.headers.get("X-API-Key") or websocket.args.get("api_key")
        who = await auth.principal_for(raw, websocket.remote_addr)
        endpoint = websocket.url_rule.endpoint if websocket.url_rule else None
        auth.authorize(who, permission_for(endpoint))
        auth.check_rate(who)
        if (
            who.key_id is not None
            and state.hub.count_for_key(who.key_id) >= state.settings.ws_connections_per_key
        ):
            raise RateLimitedError("Too many WebSocket connections for this key", retry_after=10)
        if state.hub.closing:
            raise RateLimitedError("The server is shutting down", retry_after=5)
        g.principal = who

    @app.after_request
    async def _headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        origin = request.headers.get("Origin")
        if origin is not None and origin in current().auth.allowed_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Headers"] = (
                "Content-Type, X-API-Key, Idempotency-Key"
            )
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
            response.headers["Vary"] = "Origin"
        response.headers.pop("Server", None)
        await settle_body(response, settings.max_body_bytes)
        return response

    return app


async def prepare(app: Quart) -> None:
    """Start once. ``serve`` calls this before Hypercorn so a refusal exits cleanly and at once."""
    state: AppState = app.extensions[EXTENSION]
    if state.manager is not None:
        return
    try:
        await start(state)
    except Exception as exc:
        state.extra["startup_error"] = str(exc)
        if state.database is not None:
            # An open aiosqlite thread would keep a failed process alive.
            await close_database(state.database)
            state.database = None
        raise


async def start(state: AppState) -> None:
    """Database (migrated), vault (verified), bootstrap key, crash sweep, then the workers."""
    settings = state.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state.database = await open_database(settings.resolved_database_url)
    state.vault = await open_vault(
        key_file=settings.resolved_secret_key_file,
        env_value=settings.secret_key,
        data_dir=settings.data_dir,
    )
    if settings.auth_required and settings.bootstrap_admin:
        from .models import ApiKeyRecord

        if not await ApiKeyRecord.filter(role="admin").exists():
            new = await keys.create_key("admin", "bootstrap-admin")
            # Printed once to the operator, never logged; only its hash is stored.
            print(f"itk: bootstrap admin key (shown once): {new.raw}", flush=True)
    state.manager = ExecutionManager(
        plugins=state.plugins,
        library=state.library,
        hub=state.hub,
        vault=state.vault,
        artifacts_root=settings.artifacts_dir,
        max_concurrent=settings.max_concurrent,
        max_queued=settings.max_queued,
        files_dirs=settings.input_dirs,
        trust_caller_files=not settings.auth_required,
    )
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    removed = await asyncio.to_thread(state.plugins.cleanup_orphans)
    if removed:
        log.warning("removed %d leftovers of a previous run (browser processes)", removed)
    await state.manager.start()


async def stop_activity(app: Quart) -> None:
    """Cancel runs (they end ``cancelled``), send clients their last updates, close them 1001."""
    state: AppState = app.extensions[EXTENSION]
    if state.extra.get("stopped"):
        return
    state.extra["stopped"] = True
    if state.manager is not None:
        await state.manager.shutdown(state.settings.graceful_timeout)
    state.hub.close_all(1001)
    deadline = asyncio.get_running_loop().time() + CLIENT_DRAIN_SECONDS
    while state.hub.clients and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)


def startup_error(app: Quart) -> str | None:
    state: AppState = app.extensions[EXTENSION]
    error = state.extra.get("startup_error")
    return str(error) if error else None


__all__ = ["build_library", "create_app", "prepare", "start", "startup_error", "stop_activity"]
