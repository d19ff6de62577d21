"""The few HTML pages the simulator serves: Jetty error pages, the IdP login form, 8.1 home.

Real gateways answer errors with Jetty's HTML page (IGNITION.md §2b, O5), not JSON; clients must
check the content type, so the simulator does the same. The login form carries the selectors of §3c.
"""

from __future__ import annotations

from html import escape
from http import HTTPStatus


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def jetty_error(status: int, uri: str, message: str = "") -> str:
    """Jetty 10-style error page: ``<title>Error 401 Unauthorized</title>`` and a MESSAGE row."""
    phrase = reason(status)
    text = escape(message or phrase)
    return (
        "<html>\n<head>\n"
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
        f"<title>Error {status} {escape(phrase)}</title>\n"
        "</head>\n<body>\n"
        f"<h2>HTTP ERROR {status} {escape(phrase)}</h2>\n"
        "<table>\n"
        f"<tr><th>URI:</th><td>{escape(uri)}</td></tr>\n"
        f"<tr><th>STATUS:</th><td>{status}</td></tr>\n"
        f"<tr><th>MESSAGE:</th><td>{text}</td></tr>\n"
        "<tr><th>SERVLET:</th><td>-</td></tr>\n"
        "</table>\n\n</body>\n</html>\n"
    )


def login_page(continue_label: str) -> str:
    """The two-step IdP form: username, CONTINUE, password, CONTINUE (R10, O6 LoginHelper)."""
    label = escape(continue_label)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Log In</title></head>
<body class="idp-login">
<div class="panel-header"><p class="panel-description">You must log in to continue.</p></div>
<form class="login-form" onsubmit="return false">
  <input class="username-field" name="username" autocomplete="username">
  <input class="password-field" name="password" type="password" style="display:none">
  <div class="submit-button" role="button">{label}</div>
  <button class="submit-button" type="submit">{label}</button>
</form>
</body></html>
"""


def home_page_81(name: str, seconds_left: int, user: str | None) -> str:
    """The 8.1 Wicket-style home: login link, trial countdown and the admin reset anchor (C4)."""
    h, rem = divmod(max(0, seconds_left), 3600)
    m, s = divmod(rem, 60)
    user_html = (
        f'<div class="user-info"><span>{escape(user)}</span></div>'
        if user else '<a id="login-link" class="login-link" href="/web/login">Login</a>'
    )
    reset = '<a id="reset-trial-anchor" href="#">Reset Trial</a>' if user else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{escape(name)}</title></head>
<body><nav>{user_html}</nav>
<div class="home-page"><div class="trial-banner"><span class="countdown">{h:02d}:{m:02d}:{s:02d}</span>
{reset}</div></div>
</body></html>
"""


def app_page(name: str, user: str | None, restart_pending: bool) -> str:
    """A minimal ``/app`` home for the 8.3 flavour (the full React-ish UI is browser-plugin work)."""
    who = (
        f'<div class="user-info"><span>{escape(user)}</span></div>'
        if user else '<a class="login-link" href="/data/app/login">Log In</a>'
    )
    bar = '<div class="restart-required"><button>Restart</button></div>' if restart_pending else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{escape(name)}</title></head>
<body><nav>{who}</nav>{bar}<main class="home-page"><h1>{escape(name)}</h1></main></body></html>
"""


__all__ = ["app_page", "home_page_81", "jetty_error", "login_page", "reason"]
