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
    """The two-step IdP form: username, CONTINUE, password, CONTINUE (R10, O6 LoginHelper).

    Its script drives the same challenge API a client uses (§2c): next-challenge, submit-challenge,
    next-challenge, then back to ``oidc/auth`` with the completed token.
    """
    label = escape(continue_label)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Log In</title>
<link rel="stylesheet" href="/__sim__/assets/perspective.css"></head>
<body class="idp-login">
<div class="login-panel">
<div class="panel-header"><p class="panel-description">You must log in to continue.</p></div>
<form class="login-form">
  <input class="username-field" name="username" autocomplete="username" placeholder="Username">
  <input class="password-field" name="password" type="password" autocomplete="current-password"
         placeholder="Password" style="display:none">
  <div class="login-error" style="display:none;color:#c62828"></div>
  <div class="submit-button" role="button" tabindex="0">{label}</div>
  <button class="submit-button" type="submit">{label}</button>
</form>
</div>
<script>{_LOGIN_SCRIPT}</script>
</body></html>
"""


_LOGIN_SCRIPT = """
(function () {
  const params = new URLSearchParams(location.search);
  let token = params.get("token");
  params.delete("token");
  const base = location.pathname.replace(/authn\\/login$/, "");
  const form = document.querySelector("form.login-form");
  const user = form.querySelector("input.username-field");
  const pass = form.querySelector("input.password-field");
  const error = form.querySelector(".login-error");
  let busy = false;
  function call(path, body) {
    return fetch(base + "authn/" + path, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)}).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); });
  }
  function fail(message) { error.textContent = message; error.style.display = ""; busy = false; }
  function next() {
    if (busy) return;
    error.style.display = "none";
    if (pass.style.display === "none") {
      if (!user.value) { fail("Enter a username"); return; }
      user.style.display = "none"; pass.style.display = ""; pass.focus(); return;
    }
    busy = true;
    call("next-challenge", {token: token}).then(function (r) {
      token = r.token;
      return call("submit-challenge/basic", {token: token, rememberMe: false,
        challenge: {username: user.value, password: pass.value}});
    }).then(function (r) {
      token = r.token;
      if (!r.success) { pass.value = ""; throw new Error("Invalid username or password"); }
      return call("next-challenge", {token: token});
    }).then(function (r) {
      token = r.token;
      params.set("token", token);
      location.href = base + "oidc/auth?" + params.toString();
    }).catch(function (e) { fail(e.message); });
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); next(); });
  form.querySelector("div.submit-button").addEventListener("click", next);
})();
"""


def home_page_81(name: str, seconds_left: int, user: str | None) -> str:
    """The 8.1 Wicket-style home: login link, trial countdown and the admin reset anchor (C4)."""
    h, rem = divmod(max(0, seconds_left), 3600)
    m, s = divmod(rem, 60)
    user_html = (
        f'<div class="user-info"><span>{escape(user)}</span></div>'
        if user
        else '<a id="login-link" class="login-link" href="/web/login">Login</a>'
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
        if user
        else '<a class="login-link" href="/data/app/login">Log In</a>'
    )
    bar = '<div class="restart-required"><button>Restart</button></div>' if restart_pending else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{escape(name)}</title></head>
<body><nav>{who}</nav>{bar}<main class="home-page"><h1>{escape(name)}</h1></main></body></html>
"""


__all__ = ["app_page", "home_page_81", "jetty_error", "login_page", "reason"]
