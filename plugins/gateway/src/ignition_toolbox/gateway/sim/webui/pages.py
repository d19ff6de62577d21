"""The web UI pages: one HTML layout, one script (``assets/webui.js``) that knows each page by name.

Pages need a web session; without one they redirect to ``/data/app/login?redirect=<page>``, as the
real UI sends an anonymous user to the IdP. The home page is the exception: it shows the login link.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

from quart import Quart, Response, redirect, request

from ..state import SimGateway

PAGES: dict[str, tuple[str, str]] = {
    "/app": ("home", "Home"),
    "/app/platform/system/modules": ("modules", "Modules"),
    "/app/platform/system/licensing": ("licensing", "Licensing"),
    "/app/platform/system/backup-restore/backup": ("backup", "Backup"),
    "/app/platform/security/api-keys": ("api-keys", "API Keys"),
}

_NAV = "".join(
    f'<a class="nav-link" href="{path}" data-page="{page}">{escape(title)}</a>'
    for path, (page, title) in PAGES.items()
)


def layout(gw: SimGateway, page: str, title: str, user: str | None) -> str:
    who = (
        f'<div class="user-info"><span>{escape(user)}</span></div>'
        if user
        else '<a class="login-link" href="/data/app/login">Log In</a>'
    )
    boot = json.dumps({"page": page, "user": user, "gateway": gw.options.name})
    boot = boot.replace("<", "\\u003c")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{escape(title)} - {escape(gw.options.name)}</title>
<link rel="stylesheet" href="/__sim__/assets/webui.css"></head>
<body data-page="{page}">
<nav class="top-nav"><span class="gateway-name">{escape(gw.options.name)}</span>{_NAV}{who}</nav>
<div class="restart-required" style="display:none">
  <span class="restart-message">A restart is required for changes to take effect.</span>
  <button type="button" class="restart-button" data-component="web-ui.button"
          data-label="Restart">Restart</button>
</div>
<div class="error-message" role="alert" style="display:none"></div>
<main class="{page}-page page-content"><h1>{escape(title)}</h1><div id="page-body"></div></main>
<script type="application/json" id="webui-bootstrap">{boot}</script>
<script src="/__sim__/assets/webui.js"></script>
</body></html>
"""


def register(app: Quart, gw: SimGateway) -> None:
    """Add the web UI pages to the simulator's Quart app."""

    def page_view(path: str, page: str, title: str):  # type: ignore[no-untyped-def]
        async def view() -> Response:
            session = gw.session(request.cookies.get(gw.session_cookie))
            if session is None and page != "home":
                return redirect("/data/app/login?redirect=" + quote(path, safe=""), 302)
            user = session.user if session else None
            return Response(layout(gw, page, title, user), content_type="text/html")

        view.__name__ = f"webui_{page.replace('-', '_')}"
        view.__doc__ = f"Web UI: {title} (simulated page)."
        return view

    for path, (page, title) in PAGES.items():
        app.add_url_rule(path, f"webui_{page}", page_view(path, page, title), methods=["GET"])


__all__ = ["PAGES", "layout", "register"]
