"""The simulated gateway's HTTP surface, as an ASGI app over one ``SimGateway``.

Routes mirror IGNITION.md §2b/§2c and §4d (P0 and P1); ``/__sim__/*`` is the simulator's own control
API for fault injection from browsers and other processes. The outer ``SimASGI`` wrapper does what a
Quart view cannot: refuse the connection outright while the gateway is "down", and delay answers.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from quart import Quart, Response, redirect, request
from werkzeug.exceptions import HTTPException

from . import perspective, webui
from .html import home_page_81, jetty_error, login_page
from .state import SimGateway, SimHTTPError, SimOptions

API = "/data/api/v1"
UNAVAILABLE_PREFIXES = ("/data/", "/app", "/idp/", "/web/", "/system/webdev/")
Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, content_type="application/json")


def _flag(name: str, default: bool = False) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    return raw.lower() in ("1", "true", "yes", "")


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise SimHTTPError(400, f"{name} must be an integer") from None


async def _json_body() -> Any:
    raw = await request.get_data()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise SimHTTPError(400, "Body is not valid JSON") from None


def build_quart(gw: SimGateway) -> Quart:
    app = Quart("ignition_toolbox.gateway.sim")
    app.config["MAX_CONTENT_LENGTH"] = 600 * 1024 * 1024
    app.config["BODY_TIMEOUT"] = 300

    def _error_response(
        status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        response = Response(
            jetty_error(status, request.path, message),
            status=status,
            content_type="text/html;charset=iso-8859-1",
        )
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    @app.errorhandler(SimHTTPError)
    async def _sim_error(exc: SimHTTPError) -> Response:
        return _error_response(exc.status, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException) -> Response:
        return _error_response(exc.code or 500, exc.description or "")

    def authorize() -> None:
        """Session cookie (with CSRF for mutations) or ``X-Ignition-API-Token``; see §4c."""
        write = request.method not in ("GET", "HEAD")
        session = gw.session(request.cookies.get(gw.session_cookie))
        if session is not None:
            if write and request.headers.get("X-CSRF-Token") != session.csrf:
                raise SimHTTPError(403, "Missing or invalid CSRF token")
            return
        token = request.headers.get("X-Ignition-API-Token")
        if token is None and gw.options.bearer_auth:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer":
                token = value.strip()
        if token is None:
            raise SimHTTPError(401, "Unauthorized")
        name = gw.check_token(token, write=write, secure=request.scheme == "https")
        if write:
            gw.audit.append({"token": name, "method": request.method, "path": request.path})

    @app.before_request
    async def _gate() -> Response | None:
        path = request.path
        if path.startswith("/__sim__"):
            return None
        if gw.phase == "NEEDS_COMMISSIONING" and path not in (
            "/StatusPing",
            "/system/gwinfo",
            "/welcome",
        ):
            return redirect("/welcome", 302)
        if gw.options.flavour == "8.1" and path.startswith("/data/"):
            raise SimHTTPError(404, "Not Found")
        if gw.unavailable() and path.startswith(UNAVAILABLE_PREFIXES):
            raise SimHTTPError(503, "Service Unavailable")
        if path.startswith(API + "/") and not (path == API + "/trial" and request.method == "GET"):
            authorize()
        return None

    # -- liveness (all versions, no auth) ----------------------------------------------------

    @app.get("/StatusPing")
    async def status_ping() -> Response:
        """Liveness: {"state": RUNNING|STARTING}."""
        return _json(gw.status_ping())

    @app.get("/system/gwinfo")
    async def gwinfo() -> Response:
        """Plain key=value; gateway info."""
        return Response(gw.gwinfo(), content_type="text/plain;charset=utf-8")

    @app.get("/openapi.json")
    async def openapi() -> Response:
        """This document: only the routes the simulator implements."""
        return _json(_openapi(app, gw))

    @app.route("/welcome", methods=["GET", "POST"])
    async def welcome() -> Response:
        """Commissioning: POST username and password (form or JSON) to finish it."""
        if request.method == "GET":
            return Response(
                "<html><body><h1>Welcome to Ignition</h1></body></html>", content_type="text/html"
            )
        form = await request.form
        data = dict(form) if form else (await _json_body() or {})
        gw.commission(str(data.get("username", "")), str(data.get("password", "")))
        return redirect("/app", 302) if gw.options.flavour == "8.3" else redirect("/web/home", 302)

    # -- info --------------------------------------------------------------------------------

    @app.get(API + "/gateway-info")
    async def gateway_info() -> Response:
        """Gateway name, version, edition, license mode."""
        return _json(gw.gateway_info())

    @app.get(API + "/overview")
    async def overview() -> Response:
        """Version, redundancy, uptime, memory, license."""
        return _json(gw.overview())

    @app.get(API + "/overview/banners")
    async def banners() -> Response:
        """Trial banner."""
        return _json(gw.banners())

    @app.route(API + "/trial", methods=["GET", "POST"])
    async def trial() -> Response:
        """Trial state (GET, no auth); reset (POST, session + X-CSRF-Token, 403 unless expired)."""
        if request.method == "GET":
            return _json(gw.trial())
        session = gw.session(request.cookies.get(gw.session_cookie))
        if session is None:
            raise SimHTTPError(401, "Trial reset needs a web session")
        return _json(gw.reset_trial())

    @app.get(API + "/licenses")
    async def licenses() -> Response:
        """Installed licenses."""
        return _json(gw.licenses())

    # -- modules -----------------------------------------------------------------------------

    @app.get(API + "/modules/healthy")
    async def modules_healthy() -> Response:
        """Installed modules with state and version."""
        return _json(
            gw.healthy_modules(
                limit=_int_arg("limit"),
                offset=_int_arg("offset") or 0,
                search=request.args.get("search", ""),
            )
        )

    @app.get(API + "/modules/quarantined")
    async def modules_quarantined() -> Response:
        """Modules that failed to load, with a reason."""
        return _json(gw.quarantined_modules())

    @app.post(API + "/modules/upload")
    async def modules_upload() -> Response:
        """Stage a module: raw .modl bytes, ?fileName=."""
        return _json(gw.upload_module(await request.get_data(), request.args.get("fileName", "")))

    @app.route(API + "/modules/certificate", methods=["GET", "POST"])
    async def modules_certificate() -> Response:
        """View (GET) or accept (POST, 409 if already accepted) a staged module's certificate."""
        module_id = request.args.get("moduleId", "")
        if request.method == "GET":
            return _json(gw.certificate(module_id))
        return _json(gw.accept_certificate(module_id))

    @app.route(API + "/modules/eula", methods=["GET", "POST"])
    async def modules_eula() -> Response:
        """View (GET, HTML) or accept (POST, 409 if already accepted) a staged module's EULA."""
        module_id = request.args.get("moduleId", "")
        if request.method == "GET":
            return Response(gw.eula(module_id), content_type="text/html")
        return _json(gw.accept_eula(module_id))

    @app.post(API + "/modules/install")
    async def modules_install() -> Response:
        """Install a staged module; it becomes ACTIVE at the next restart."""
        return _json(gw.install_module(request.args.get("moduleId", "")))

    @app.delete(API + "/modules/uninstall")
    async def modules_uninstall() -> Response:
        """Mark modules for removal at the next restart. Always 200; verdict in the body."""
        accepts = gw.options.uninstall_accepts
        ids: list[str] = []
        if accepts in ("both", "query"):
            ids += request.args.getlist("moduleId")
        if accepts in ("both", "body"):
            body = await _json_body()
            if isinstance(body, dict) and isinstance(body.get("uninstall"), list):
                ids += [str(i) for i in body["uninstall"]]
        return _json(gw.uninstall_modules(list(dict.fromkeys(ids))))

    @app.put(API + "/modules/toggle-state")
    async def modules_toggle() -> Response:
        """Enable or disable modules at the next restart."""
        body = await _json_body() or {}
        return _json(gw.toggle_modules(list(body.get("enable", [])), list(body.get("disable", []))))

    # -- restart -----------------------------------------------------------------------------

    @app.get(API + "/restart-tasks/pending")
    async def restart_pending() -> Response:
        """Changes waiting for a restart."""
        return _json(list(gw.restart_tasks))

    @app.post(API + "/restart-tasks/restart")
    async def restart() -> Response:
        """Restart the gateway (?confirm=true); answers true at once."""
        if not _flag("confirm"):
            raise SimHTTPError(400, "Restart requires confirm=true")
        gw.restart()
        return _json(True)

    # -- backups -----------------------------------------------------------------------------

    @app.route(API + "/backup", methods=["GET", "POST"])
    async def backup() -> Response:
        """Download (GET ?type=roaming|all) or restore (POST raw .gwbk; the gateway restarts)."""
        if request.method == "GET":
            data, filename = gw.backup(request.args.get("type", "all"))
            return Response(
                data,
                content_type="application/octet-stream",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        gw.restore(
            await request.get_data(),
            restore_disabled=_flag("restoreDisabled"),
            new_name=request.args.get("newName") if _flag("renameEnabled") else None,
        )
        await gw.clock.sleep(gw.options.restore_seconds)
        gw.restart()
        return _json({"success": True, "restartRequired": True})

    # -- projects ----------------------------------------------------------------------------

    @app.get(API + "/projects/list")
    async def projects_list() -> Response:
        """Projects with their settings."""
        return _json(gw.list_projects(limit=_int_arg("limit"), offset=_int_arg("offset") or 0))

    @app.get(API + "/projects/names")
    async def projects_names() -> Response:
        """Project names."""
        return _json(sorted(gw.projects))

    @app.get(API + "/projects/find/<name>")
    async def projects_find(name: str) -> Response:
        """One project."""
        return _json(gw.project(name).item())

    @app.get(API + "/projects/export/<name>")
    async def projects_export(name: str) -> Response:
        """Project zip (synchronous)."""
        return Response(
            gw.export_project(name),
            content_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
        )

    @app.post(API + "/projects/import/<name>")
    async def projects_import(name: str) -> Response:
        """Import a raw project zip; exists without ?overwrite=true -> conflict."""
        return _json(
            gw.import_project(name, await request.get_data(), overwrite=_flag("overwrite"))
        )

    @app.delete(API + "/projects/<name>")
    async def projects_delete(name: str) -> Response:
        """Delete a project (?confirm=true)."""
        if not _flag("confirm"):
            raise SimHTTPError(400, "Delete requires confirm=true")
        gw.project(name)
        del gw.projects[name]
        return _json({"success": True})

    @app.post(API + "/scan/projects")
    async def scan_projects() -> Response:
        """Rescan projects on disk."""
        return _json(gw.scan("projects"))

    @app.post(API + "/scan/config")
    async def scan_config() -> Response:
        """Rescan configuration on disk."""
        return _json(gw.scan("config"))

    # -- tags --------------------------------------------------------------------------------

    @app.get(API + "/tags/export")
    async def tags_export() -> Response:
        """Export a tag tree as JSON."""
        if request.args.get("type", "json") != "json":
            raise SimHTTPError(400, "The simulator exports type=json only")
        return _json(
            gw.export_tags(
                request.args.get("provider", "default"),
                request.args.get("path", ""),
                _flag("recursive", True),
            )
        )

    @app.post(API + "/tags/import")
    async def tags_import() -> Response:
        """Import raw tag JSON under provider/path with a collisionPolicy."""
        return _json(
            gw.import_tags(
                request.args.get("provider", "default"),
                request.args.get("path", ""),
                await _json_body(),
                request.args.get("collisionPolicy", "Abort"),
            )
        )

    @app.route("/system/webdev/__sim__/tags", methods=["GET", "POST"])
    async def webdev_tags() -> Response:
        """SIMULATED WebDev route (not an Ignition API): read or write tag values."""
        if request.method == "POST":
            body = await _json_body()
            if not isinstance(body, dict):
                raise SimHTTPError(400, "Body must be an object of tag path to value")
            gw.tag_values.update(body)
        return _json(gw.tag_values)

    # -- API tokens --------------------------------------------------------------------------

    @app.post(API + "/api-token/generate")
    async def token_generate() -> Response:
        """A new key and its hash; nothing is stored."""
        return _json(gw.generate_token())

    @app.post(API + "/resources/ignition/api-token")
    async def token_create() -> Response:
        """Create api-token resources (array body)."""
        body = await _json_body()
        if not isinstance(body, list):
            raise SimHTTPError(400, "Body must be an array of resources")
        return _json(gw.create_tokens(body))

    # -- sessions: the IdP flow (§2c) --------------------------------------------------------

    login_returns: dict[str, str] = {}

    @app.get("/data/app/login")
    async def app_login() -> Response:
        """Start the web login: redirect to the IdP (``?redirect=`` a local path to come back to)."""
        state = secrets.token_urlsafe(12)
        back = request.args.get("redirect", "")
        if back.startswith("/") and not back.startswith("//"):
            login_returns[state] = back
        params = {
            "response_type": "code",
            "client_id": "ignition-web",
            "redirect_uri": "/data/federate/callback/internal",
            "state": state,
            "nonce": secrets.token_urlsafe(8),
        }
        response = redirect(f"/idp/{gw.options.idp_name}/oidc/auth?{urlencode(params)}", 302)
        response.set_cookie(f"idp-relay-{secrets.token_hex(3)}", state, path="/", httponly=True)
        return response

    def _idp(name: str) -> None:
        if name != gw.options.idp_name:
            raise SimHTTPError(404, f"Unknown identity provider {name}")

    @app.get("/idp/<name>/oidc/auth")
    async def idp_auth(name: str) -> Response:
        """OIDC authorize: start a challenge flow, or finish one given a completed token."""
        _idp(name)
        params = {k: v for k, v in request.args.items() if k != "token"}
        token = request.args.get("token")
        if token:
            grant = gw.idp_finish(token)
            return redirect(f"/data/federate/callback/internal?{urlencode(grant)}", 302)
        t0 = gw.idp_start(params)
        response = redirect(f"/idp/{name}/authn/login?{urlencode({**params, 'token': t0})}", 302)
        response.set_cookie(
            f"idp-sid-{name}-{secrets.token_hex(3)}", secrets.token_hex(8), path="/", httponly=True
        )
        return response

    @app.get("/idp/<name>/authn/login")
    async def idp_login_page(name: str) -> Response:
        """The two-step login form."""
        _idp(name)
        return Response(login_page(gw.options.continue_label), content_type="text/html")

    @app.post("/idp/<name>/authn/next-challenge")
    async def idp_next(name: str) -> Response:
        """Next challenge; the token rotates and a reused one gets a 400 page."""
        _idp(name)
        body = await _json_body() or {}
        return _json(gw.idp_next_challenge(body.get("token")))

    @app.post("/idp/<name>/authn/submit-challenge/basic")
    async def idp_submit(name: str) -> Response:
        """Username and password; success false on a bad password."""
        _idp(name)
        body = await _json_body() or {}
        return _json(gw.idp_submit_basic(body.get("token"), body.get("challenge") or {}))

    @app.get("/data/federate/callback/internal")
    async def federate_callback() -> Response:
        """Exchange the code for the webui-sid cookie."""
        sid = gw.idp_callback(request.args.get("code", ""))
        response = redirect(login_returns.pop(request.args.get("state", ""), "/app"), 302)
        response.set_cookie(gw.session_cookie, sid, path="/", httponly=True, samesite="Strict")
        return response

    @app.get("/data/app/session")
    async def app_session() -> Response:
        """The logged-in user and the CSRF token for mutations."""
        return _json(gw.session_info(request.cookies.get(gw.session_cookie)))

    @app.get("/web/home")
    async def web_home() -> Response:
        session = gw.session(request.cookies.get(gw.session_cookie))
        return Response(
            home_page_81(
                gw.options.name, gw.trial_seconds_left(), session.user if session else None
            ),
            content_type="text/html",
        )

    # -- simulator control (not Ignition) ----------------------------------------------------

    @app.get("/__sim__/state")
    async def sim_state() -> Response:
        return _json(gw.describe())

    @app.post("/__sim__/faults")
    async def sim_faults() -> Response:
        body = await _json_body() or {}
        apply_faults(gw, body)
        return _json(gw.describe())

    @app.post("/__sim__/restart")
    async def sim_restart() -> Response:
        gw.restart()
        return _json(True)

    @app.post("/__sim__/trial/expire")
    async def sim_expire() -> Response:
        gw.expire_trial()
        return _json(gw.trial())

    @app.post("/__sim__/clock/advance")
    async def sim_advance() -> Response:
        body = await _json_body() or {}
        gw.clock.advance(float(body.get("seconds", 0)))
        return _json(gw.describe())

    @app.post("/__sim__/tokens")
    async def sim_tokens() -> Response:
        body = await _json_body() or {}
        gw.add_token(
            str(body["name"]),
            str(body["secret"]),
            body.get("levels"),
            external=bool(body.get("external")),
            enabled=bool(body.get("enabled", True)),
        )
        return _json({"name": body["name"]})

    @app.post("/__sim__/options")
    async def sim_options() -> Response:
        body = await _json_body() or {}
        for key, value in body.items():
            if not hasattr(gw.options, key):
                raise SimHTTPError(400, f"Unknown simulator option {key}")
            setattr(gw.options, key, value)
        return _json(gw.describe())

    perspective.register(app, gw)
    webui.register(app, gw)
    return app


def apply_faults(gw: SimGateway, body: dict[str, Any]) -> None:
    """Apply the fault knobs of ``POST /__sim__/faults`` (also usable from Python)."""
    now = gw.now()
    f = gw.faults
    if body.get("clear"):
        f.force_503_until = f.drop_until = f.slow_seconds = 0.0
        f.fail_next_upload = None
        f.quarantine_ids.clear()
        f.rotate_csrf = False
        gw.options.require_secure_api_keys = False
    if "force_503_seconds" in body:
        f.force_503_until = now + float(body["force_503_seconds"])
    if "drop_seconds" in body:
        f.drop_until = now + float(body["drop_seconds"])
    if "slow_seconds" in body:
        f.slow_seconds = float(body["slow_seconds"])
    if "fail_next_upload" in body:
        value = body["fail_next_upload"]
        f.fail_next_upload = (
            None if value in (None, False) else ("Upload failed" if value is True else str(value))
        )
    if "quarantine" in body:
        f.quarantine_ids |= set(body["quarantine"])
    if "require_https" in body:
        gw.options.require_secure_api_keys = bool(body["require_https"])
    if "rotate_csrf" in body:
        f.rotate_csrf = bool(body["rotate_csrf"])
    if body.get("expire_trial"):
        gw.expire_trial()


def _openapi(app: Quart, gw: SimGateway) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if path.startswith(("/__sim__", "/static", "/system/webdev")):
            continue
        view = app.view_functions.get(rule.endpoint)
        summary = ((view.__doc__ if view else "") or "").strip().splitlines()
        oapath = path.replace("<", "{").replace(">", "}")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(oapath, {})[method.lower()] = {
                "summary": summary[0] if summary else "",
                "responses": {"200": {"description": "OK"}},
            }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ignition Gateway (simulated)", "version": gw.options.full_version},
        "paths": dict(sorted(paths.items())),
    }


class SimASGI:
    """The ASGI entry point: the Quart app behind connection-level faults.

    While the gateway is down the in-process app raises ``ConnectionRefusedError`` (what a client sees
    as a refused connection); ``serve`` additionally closes the real listening socket. On a real
    socket (``drop_when_down``) a request that arrives in the moment before the socket closes gets
    its connection dropped mid-answer, as from a gateway going down: raising there would make the
    ASGI server answer 500, which no real gateway sends for being down.
    """

    def __init__(self, gateway: SimGateway):
        self.gateway = gateway
        self.quart = build_quart(gateway)
        self.drop_when_down = False

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope.get("path", "").startswith("/__sim__"):
            if self.gateway.refusing_connections():
                if self.drop_when_down:
                    # Headers that promise a body, then none: the server closes the connection.
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 503,
                            "headers": [(b"content-length", b"1")],
                        }
                    )
                    return
                raise ConnectionRefusedError("simulated gateway is down")
            if self.gateway.faults.slow_seconds > 0:
                await asyncio.sleep(self.gateway.faults.slow_seconds)
        await self.quart(scope, receive, send)


def create_app(gateway: SimGateway | None = None, **options: Any) -> SimASGI:
    """Build the ASGI app for ``gateway`` (or a new ``SimGateway(SimOptions(**options))``)."""
    return SimASGI(gateway or SimGateway(SimOptions(**options)))


__all__ = ["SimASGI", "apply_faults", "build_quart", "create_app"]
