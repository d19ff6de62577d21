"""The simulated Perspective client: ``/data/perspective/client/<project>/<page>`` and its helpers.

The shell is a small HTML page carrying a JSON bootstrap (the project's views, page config, tag
bindings) that ``assets/perspective.js`` renders with the real hooks of IGNITION.md §3b. Everything
the browser needs beyond that (tag polling, the event log, the close knob) lives under
``/__sim__/perspective/`` and is labelled as the simulator's own, not an Ignition API.
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import quote

from quart import Quart, Response, request

from ..state import SimGateway, SimHTTPError
from .sessions import PerspectiveSessions
from .views import normalise_page, page_config, project_views, requires_auth

CLIENT = "/data/perspective/client"
SID_COOKIE = "perspective-sid"
ASSET_TYPES = {".js": "application/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def sessions_of(gw: SimGateway) -> PerspectiveSessions:
    """The gateway's Perspective sessions, created on first use (one per ``SimGateway``)."""
    found = getattr(gw, "perspective", None)
    if not isinstance(found, PerspectiveSessions):
        found = PerspectiveSessions()
        gw.perspective = found  # type: ignore[attr-defined]
    return found


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, content_type="application/json")


def _script_json(value: Any) -> str:
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


def terminal_state(gw: SimGateway, project: str) -> dict[str, str] | None:
    """The terminal state a page of ``project`` shows instead of views, if any (O6 TerminalStates)."""
    found = gw.projects.get(project)
    if found is None:
        return {
            "kind": "project-not-found",
            "header": "Project Not Found",
            "message": f"The project '{project}' does not exist on this gateway.",
        }
    if gw.trial_seconds_left() <= 0:
        return {
            "kind": "trial-expired",
            "header": "Trial Expired",
            "message": "The trial period for this gateway has expired. "
            "Reset the trial from the gateway web interface.",
        }
    if not found.enabled:
        return {
            "kind": "project-not-runnable",
            "header": "Project Not Runnable",
            "message": f"The project '{project}' is disabled.",
        }
    return None


def shell(title: str, bootstrap: dict[str, Any]) -> str:
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/__sim__/assets/perspective.css"></head>
<body class="perspective-client">
<div id="app-container"><div class="ignition-loading-spinner" role="progressbar"></div></div>
<script type="application/json" id="perspective-bootstrap">{_script_json(bootstrap)}</script>
<script src="/__sim__/assets/perspective.js"></script>
</body></html>
"""


def login_interstitial(project: str, target: str, label: str) -> str:
    """What a project behind the IdP shows without a session: the §3c interstitial."""
    href = "/data/app/login?redirect=" + quote(target, safe="")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{escape(project)} - Log In</title>
<link rel="stylesheet" href="/__sim__/assets/perspective.css"></head>
<body class="perspective-client login-interstitial">
<div class="login-panel">
<div class="panel-header"><p class="panel-description">You must log in to continue.</p></div>
<div class="submit-button" role="button" tabindex="0"
     onclick="location.href={escape(json.dumps(href))}">{escape(label)}</div>
</div></body></html>
"""


def register(app: Quart, gw: SimGateway) -> None:
    """Add the Perspective client routes to the simulator's Quart app."""
    store = sessions_of(gw)

    def user() -> str | None:
        session = gw.session(request.cookies.get(gw.session_cookie))
        return session.user if session else None

    @app.get(CLIENT + "/<project>")
    @app.get(CLIENT + "/<project>/<path:page>")
    async def perspective_client(project: str, page: str = "") -> Response:
        """A Perspective session page (simulated client)."""
        page_path = normalise_page(page)
        who = user()
        terminal = terminal_state(gw, project)
        if terminal is None:
            sim_project = gw.projects[project]
            if requires_auth(sim_project) and who is None:
                target = request.full_path.rstrip("?")
                return Response(
                    login_interstitial(project, target, gw.options.continue_label),
                    content_type="text/html",
                )
        bootstrap: dict[str, Any] = {
            "project": project,
            "page": page_path,
            "clientPrefix": f"{CLIENT}/{project}",
            "user": who,
            "renderDelayMs": int(gw.options.render_delay_ms),
            "tableDelayMs": int(gw.options.table_delay_ms),
            "terminal": terminal,
        }
        response_cookie = None
        if terminal is None:
            sim_project = gw.projects[project]
            views = project_views(sim_project)
            opened = store.open_page(
                project, page_path, request.cookies.get(SID_COOKIE), who, gw.now()
            )
            bootstrap.update(
                views=views,
                pageConfig=page_config(sim_project, views),
                sessionId=opened.session_id,
                pageId=opened.id,
                title=sim_project.title or project,
                tags={
                    path: {"value": value, "quality": store.quality(path, gw.tag_values)}
                    for path, value in gw.tag_values.items()
                },
            )
            response_cookie = opened.session_id
        response = Response(shell(project, bootstrap), content_type="text/html")
        if response_cookie:
            response.set_cookie(
                SID_COOKIE,
                response_cookie,
                path=CLIENT + "/" + project,
                httponly=True,
                samesite="Lax",
            )
        return response

    @app.get("/data/perspective/api/v1/sessions/")
    async def perspective_sessions() -> Response:
        """Perspective sessions with their pages."""
        return _json(store.describe())

    @app.delete("/data/perspective/api/v1/sessions")
    async def perspective_close_sessions() -> Response:
        """Close a session (?sessionId=) or all of them, with an optional ?message=."""
        closed = store.close(request.args.get("sessionId"), request.args.get("message", ""))
        return _json({"closed": closed})

    # -- simulator-only helpers of the client ---------------------------------------------------

    @app.post("/__sim__/perspective/poll")
    async def sim_perspective_poll() -> Response:
        body = json.loads(await request.get_data() or b"{}")
        closed, message = store.is_closed(str(body.get("pageId", "")))
        values = gw.tag_values
        tags = {
            str(path): {"value": values.get(path), "quality": store.quality(path, values)}
            for path in body.get("tags") or []
        }
        return _json({"closed": closed, "message": message, "tags": tags})

    @app.route("/__sim__/perspective/events", methods=["GET", "POST", "DELETE"])
    async def sim_perspective_events() -> Response:
        if request.method == "DELETE":
            store.events.clear()
            return _json([])
        if request.method == "GET":
            since = int(request.args.get("since", "0") or 0)
            return _json([e for e in store.events if e["seq"] > since])
        body = json.loads(await request.get_data() or b"{}")
        if not isinstance(body, dict):
            raise SimHTTPError(400, "An event is a JSON object")
        if body.get("write") and body.get("tagPath"):
            gw.tag_values[str(body["tagPath"])] = body.get("value")
        return _json(store.record(body, gw.now()))

    @app.post("/__sim__/perspective/close")
    async def sim_perspective_close() -> Response:
        body = json.loads(await request.get_data() or b"{}")
        return _json({"closed": store.close(body.get("sessionId"), body.get("message", ""))})

    @app.post("/__sim__/perspective/quality")
    async def sim_perspective_quality() -> Response:
        """Set tag qualities: ``{"[default]Line/Speed": "Bad_Stale"}``; null restores Good."""
        body = json.loads(await request.get_data() or b"{}")
        for path, quality in body.items():
            if quality is None:
                store.tag_quality.pop(path, None)
            else:
                store.tag_quality[path] = str(quality)
        return _json(store.tag_quality)

    @app.get("/__sim__/assets/<name>")
    async def sim_asset(name: str) -> Response:
        suffix = name[name.rfind(".") :] if "." in name else ""
        if "/" in name or suffix not in ASSET_TYPES:
            raise SimHTTPError(404, "Not Found")
        for package in (__package__, __package__.rsplit(".", 1)[0] + ".webui"):
            candidate = resources.files(package) / "assets" / name
            if candidate.is_file():
                return Response(candidate.read_bytes(), content_type=ASSET_TYPES[suffix])
        raise SimHTTPError(404, "Not Found")


__all__ = ["CLIENT", "register", "sessions_of", "terminal_state"]
