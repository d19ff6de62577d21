"""An async client for an Ignition gateway's HTTP surfaces (8.3 REST, IdP session, 8.1 liveness).

Every call has a timeout (a timeout becomes ``StepTimeoutError``, API code ``timeout_error``); TLS is
verified unless a caller explicitly turns it off, with a per-credential CA; only ``http`` and
``https`` URLs are accepted (SECURITY.md SR-18). Error answers — Jetty HTML pages on real gateways —
are turned into ``GatewayError``s whose message says what to do, and 503 from ``/data`` is reported
as "restarting" rather than as a failure of the call.
"""

from __future__ import annotations

import asyncio
import functools
import html
import json
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import httpx

from ignition_toolbox.core import SecretOriginError, StepTimeoutError

from .errors import (
    GatewayAuthError,
    GatewayConflictError,
    GatewayError,
    GatewayNotFoundError,
    GatewayRestartingError,
    GatewayUnreachableError,
)
from .transport import default_transport

API = "/data/api/v1"
DEFAULT_TIMEOUT = 30.0
LONG_TIMEOUT = 300.0
Auth = Literal["token", "session", "none"]

_MESSAGE_ROW = re.compile(r"<th>\s*MESSAGE:\s*</th>\s*<td>(.*?)</td>", re.I | re.S)
_TITLE = re.compile(r"<title>(.*?)</title>", re.I | re.S)
_FILENAME = re.compile(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', re.I)


def gateway_message(response: httpx.Response) -> str:
    """The human part of an error answer: Jetty's MESSAGE row or title, or a JSON ``message``."""
    ctype = response.headers.get("content-type", "")
    text = response.text[:20_000]
    if "json" in ctype:
        try:
            body = response.json()
        except ValueError:
            return text[:300].strip()
        if isinstance(body, dict):
            for key in ("message", "error", "detail"):
                if isinstance(body.get(key), str):
                    return body[key]
        return json.dumps(body)[:300]
    if "<" in text:
        match = _MESSAGE_ROW.search(text) or _TITLE.search(text)
        return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else ""
    return text[:300].strip()


@functools.lru_cache(maxsize=64)
def _context(cadata: str | None = None, cafile: str | None = None) -> ssl.SSLContext:
    """Loading a CA store takes ~20 ms of blocked event loop, so each store is loaded once."""
    if cadata or cafile:
        return ssl.create_default_context(cadata=cadata, cafile=cafile)
    return httpx.create_ssl_context()


def tls_verify(
    verify: bool | str | ssl.SSLContext = True, ca_cert: str | None = None
) -> bool | ssl.SSLContext:
    """An httpx ``verify`` value: a CA given as PEM text or a file path replaces the system store."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if ca_cert:
        if "-----BEGIN" in ca_cert:
            return _context(cadata=ca_cert)
        return _context(cafile=ca_cert)
    if isinstance(verify, str):
        return _context(cafile=verify)
    return _context() if verify else False


class _SessionCookies(httpx.Cookies):
    """httpx's cookie store, skipping the jar for the answers that set no cookie."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


def check_url(url: str) -> str:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GatewayError(
            f"Gateway URL {url!r} is not an http(s) URL",
            code="validation_error",
            details={"reason": "invalid_url"},
        )
    return url.rstrip("/")


class GatewayClient:
    """One gateway, one identity. Use as ``async with GatewayClient(url, api_token=...) as gw``."""

    def __init__(
        self,
        base_url: str,
        *,
        api_token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_cert: str | None = None,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        credential_name: str | None = None,
        withheld: SecretOriginError | None = None,
    ) -> None:
        self.base_url = check_url(base_url)
        # Why the credential's secrets were kept from this client (its origin binding); the
        # unauthenticated calls still work, an authenticated one fails with this message.
        self.withheld = withheld
        self.api_token = api_token or None
        self.username = username or None
        self.password = password or None
        self.timeout = timeout
        self.credential_name = credential_name
        self._csrf: str | None = None
        tls = tls_verify(verify, ca_cert)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport or default_transport(tls),
            verify=tls,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": "ignition-toolbox-gateway/0.1"},
        )
        # httpx hands every response to its cookie jar through urllib's request and response
        # adapters, ~15 % of a call's CPU here, though only the web-session login ever sets a
        # cookie. The client keeps its jar in ``_cookies`` (the ``cookies`` setter would copy the
        # jar into a plain ``Cookies``); should that name change, this costs speed, not cookies.
        self._http._cookies = _SessionCookies()
        self._urls: dict[tuple[str, tuple[Any, ...]], httpx.URL] = {}

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def token_name(self) -> str:
        return (self.api_token or "").partition(":")[0]

    # -- the one place requests are made -----------------------------------------------------

    def _token_headers(self) -> dict[str, str]:
        who = f"credential {self.credential_name!r}" if self.credential_name else "this gateway"
        if self.withheld is not None:
            raise SecretOriginError(self.withheld.message, self.withheld.details)
        if not self.api_token:
            raise GatewayAuthError(
                f"This action needs an Ignition API token: add api_token (name:secret) to {who}",
                code="validation_error",
            )
        if ":" not in self.api_token:
            raise GatewayAuthError(
                f"The API token of {who} must be 'name:secret'; Ignition answers 401 to a bare "
                "secret",
                code="validation_error",
            )
        return {"X-Ignition-API-Token": self.api_token}

    def _url(self, path: str, params: Any) -> tuple[httpx.URL | str, Any]:
        """The full URL of a gateway path and query, built by httpx once and then reused: parsing
        and joining URLs was ~20 % of a call's CPU, and a run asks for the same few paths over and
        over (``/StatusPing`` while it waits). Absolute URLs (login redirects) are not kept."""
        if not path.startswith("/"):
            return path, params
        try:
            items = tuple(params.items()) if isinstance(params, Mapping) else tuple(params or ())
            key = (path, items)
            url = self._urls.get(key)
        except TypeError:  # an unhashable query value: let httpx build it each time
            return path, params
        if url is None:
            if len(self._urls) >= 256:
                self._urls.clear()
            url = self._urls[key] = self._http.build_request("GET", path, params=params).url
        return url, None

    async def _send(
        self,
        method: str,
        path: str,
        *,
        timeout: float | None = None,
        params: Any = None,
        **kwargs: Any,
    ) -> httpx.Response:
        limit = self.timeout if timeout is None else timeout
        url, params = self._url(path, params)
        try:
            # httpx times each phase (connect, read...) separately; the outer deadline bounds the
            # whole call, and also applies to transports that ignore timeouts (ASGI, mocks).
            async with asyncio.timeout(limit):
                return await self._http.request(method, url, params=params, timeout=limit, **kwargs)
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise StepTimeoutError(
                f"Gateway {self.base_url} did not answer {method} {path} within {limit:g} s",
                {"method": method, "path": path, "timeout_seconds": limit},
            ) from exc
        except (httpx.TransportError, OSError) as exc:
            kind = type(exc).__name__
            if isinstance(exc, ssl.SSLError) or "SSL" in str(exc) or "certificate" in str(exc):
                hint = ": TLS verification failed; give the credential the gateway's CA (ca_cert)"
            else:
                hint = ""
            raise GatewayUnreachableError(
                f"Cannot reach gateway {self.base_url} ({kind}){hint}",
                method=method,
                path=path,
                details={"error": kind},
            ) from exc

    async def request(
        self,
        method: str,
        path: str,
        *,
        auth: Auth = "token",
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> httpx.Response:
        """Send one request with the chosen authentication and turn error answers into errors."""
        if not path.startswith("/") or path.startswith("//"):
            raise GatewayError(
                f"Gateway path {path!r} must start with a single '/'", code="validation_error"
            )
        method = method.upper()
        sent = dict(headers or {})
        if auth == "token" and self.withheld is None and not self.api_token and self.can_log_in:
            # No API token but a username and password: the web session may call the same
            # /data/api/v1 routes (IGNITION.md §2c), mutations with X-CSRF-Token.
            auth = "session"
        if auth == "token":
            sent.update(self._token_headers())
            if method not in ("GET", "HEAD") and self._csrf:
                # A logged-in client also sends its session cookie, and the gateway then judges
                # the session, which wants its CSRF token on a mutation.
                sent["X-CSRF-Token"] = self._csrf
        elif auth == "session":
            await self.ensure_session()
            if method not in ("GET", "HEAD") and self._csrf:
                sent["X-CSRF-Token"] = self._csrf
        kwargs: dict[str, Any] = {"params": params, "headers": sent}
        if json_body is not None:
            kwargs["json"] = json_body
        if content is not None:
            kwargs["content"] = content
        response = await self._send(method, path, timeout=timeout, **kwargs)
        if auth == "session" and response.status_code == 401:
            self._csrf = None  # the gateway restarted and dropped sessions: log in once more
            await self.ensure_session()
            if method not in ("GET", "HEAD") and self._csrf:
                sent["X-CSRF-Token"] = self._csrf
            response = await self._send(method, path, timeout=timeout, **kwargs)
        if check:
            self.raise_for_status(response, auth)
        return response

    def raise_for_status(self, response: httpx.Response, auth: Auth = "token") -> None:
        status = response.status_code
        if status < 400:
            return
        method = response.request.method
        path = response.request.url.path
        said = gateway_message(response)
        where = f"{method} {path}"
        tail = (
            f" — gateway said: {said}"
            if said
            and said.lower()
            not in (
                response.reason_phrase.lower(),
                f"error {status} {response.reason_phrase}".lower(),
            )
            else ""
        )
        common = {"status": status, "method": method, "path": path, "gateway_message": said}
        if status == 503:
            raise GatewayRestartingError(
                f"Gateway {self.base_url} is restarting or starting up (503 on {where}); "
                "wait for it with gateway.wait_for_ready",
                **common,
            )
        if status == 401:
            if auth == "session":
                message = f"Gateway refused the web session on {where} (401){tail}"
            else:
                message = (
                    f"Gateway rejected API token {self.token_name!r} (401 on {where}): check the "
                    "token name and secret, that the key is enabled, and whether the gateway "
                    f"requires https for API keys{tail}"
                )
            raise GatewayAuthError(message, code="unauthorized", **common)
        if status == 403:
            if auth == "session":
                message = f"Gateway refused {where} for the logged-in user (403){tail}"
            else:
                perm = "Read" if method in ("GET", "HEAD") else "Write"
                message = (
                    f"API token {self.token_name!r} lacks permission for {where} (403): give its "
                    f"security level Gateway {perm} permission (Platform > Security > General "
                    f"Settings){tail}"
                )
            raise GatewayAuthError(message, code="permission_denied", **common)
        if status == 404:
            extra = ""
            if path.startswith(API) and not said.lower().startswith(
                ("no ", "project", "tag", "unknown")
            ):
                extra = " (an Ignition 8.1 gateway has no /data/api/v1 REST API)"
            raise GatewayNotFoundError(f"Not found on the gateway: {where}{tail}{extra}", **common)
        if status == 409:
            raise GatewayConflictError(f"Gateway refused {where} (409 conflict){tail}", **common)
        raise GatewayError(
            f"Gateway answered {status} {response.reason_phrase} to {where}{tail}", **common
        )

    async def get_json(self, path: str, *, auth: Auth = "token", **kwargs: Any) -> Any:
        response = await self.request("GET", path, auth=auth, **kwargs)
        return self._json(response)

    async def post_json(self, path: str, *, auth: Auth = "token", **kwargs: Any) -> Any:
        response = await self.request("POST", path, auth=auth, **kwargs)
        return self._json(response)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise GatewayError(
                f"Gateway answered {response.request.method} {response.request.url.path} with "
                f"{response.headers.get('content-type', 'no content type')}, not JSON",
                status=response.status_code,
                method=response.request.method,
                path=response.request.url.path,
            ) from exc

    # -- liveness and info -------------------------------------------------------------------

    async def status_ping(self, timeout: float | None = None) -> dict[str, Any]:
        """``/StatusPing`` (no auth, all versions, answers during a restart)."""
        body = await self.get_json("/StatusPing", auth="none", timeout=timeout)
        return body if isinstance(body, dict) else {"state": str(body)}

    async def gwinfo(self, timeout: float | None = None) -> dict[str, str]:
        """``/system/gwinfo`` parsed from ``key=value;`` text (no auth)."""
        response = await self.request("GET", "/system/gwinfo", auth="none", timeout=timeout)
        return parse_gwinfo(response.text)

    async def gateway_info(self) -> dict[str, Any]:
        return await self.get_json(API + "/gateway-info")

    async def overview(self) -> dict[str, Any]:
        return await self.get_json(API + "/overview")

    async def trial(self) -> dict[str, Any]:
        return await self.get_json(API + "/trial", auth="none")

    async def reset_trial(self) -> dict[str, Any]:
        return await self.post_json(API + "/trial", auth="session")

    async def licenses(self) -> Any:
        return await self.get_json(API + "/licenses")

    # -- modules -----------------------------------------------------------------------------

    async def modules(self) -> list[dict[str, Any]]:
        return _items(await self.get_json(API + "/modules/healthy"))

    async def quarantined(self) -> list[dict[str, Any]]:
        return _items(await self.get_json(API + "/modules/quarantined"))

    async def upload_module(self, data: bytes, file_name: str) -> dict[str, Any]:
        return await self.post_json(
            API + "/modules/upload",
            params={"fileName": file_name},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=LONG_TIMEOUT,
        )

    async def accept_certificate(self, module_id: str) -> bool:
        """Accept; ``False`` when it was already accepted (409), which is not a failure."""
        return await self._accept("certificate", module_id)

    async def accept_eula(self, module_id: str) -> bool:
        return await self._accept("eula", module_id)

    async def _accept(self, what: str, module_id: str) -> bool:
        try:
            await self.request("POST", f"{API}/modules/{what}", params={"moduleId": module_id})
        except GatewayConflictError:
            return False
        return True

    async def install_module(self, module_id: str) -> dict[str, Any]:
        return await self.post_json(API + "/modules/install", params={"moduleId": module_id})

    async def uninstall_module(self, module_id: str) -> dict[str, Any]:
        """Sent with both the query (Bruno) and the JSON body (C1, live): gateways differ [UNC]."""
        response = await self.request(
            "DELETE",
            API + "/modules/uninstall",
            params={"moduleId": module_id},
            json_body={"uninstall": [module_id]},
        )
        return self._json(response) or {}

    # -- restart -----------------------------------------------------------------------------

    async def pending_restart_tasks(self) -> list[Any]:
        return _items(await self.get_json(API + "/restart-tasks/pending"))

    async def restart(self) -> Any:
        return await self.post_json(API + "/restart-tasks/restart", params={"confirm": "true"})

    # -- backups and projects ----------------------------------------------------------------

    async def backup(self, kind: str = "all") -> tuple[bytes, str]:
        response = await self.request(
            "GET",
            API + "/backup",
            params={"type": kind},
            headers={"Accept": "application/octet-stream"},
            timeout=LONG_TIMEOUT,
        )
        return response.content, content_filename(response) or "gateway.gwbk"

    async def restore(
        self,
        data: bytes,
        *,
        restore_disabled: bool = False,
        new_name: str | None = None,
        timeout: float = LONG_TIMEOUT,
    ) -> Any:
        params: dict[str, str] = {}
        if restore_disabled:
            params["restoreDisabled"] = "true"
        if new_name:
            params["renameEnabled"] = "true"
            params["newName"] = new_name
        return await self.post_json(
            API + "/backup",
            params=params,
            content=data,
            timeout=timeout,
            headers={"Content-Type": "application/octet-stream"},
        )

    async def projects(self) -> list[dict[str, Any]]:
        return _items(await self.get_json(API + "/projects/list"))

    async def project_names(self) -> list[str]:
        return [str(n) for n in _items(await self.get_json(API + "/projects/names"))]

    async def export_project(self, name: str) -> bytes:
        response = await self.request(
            "GET", f"{API}/projects/export/{_seg(name)}", timeout=LONG_TIMEOUT
        )
        return response.content

    async def import_project(self, name: str, data: bytes, *, overwrite: bool = False) -> Any:
        params = {"overwrite": "true"} if overwrite else None
        return await self.post_json(
            f"{API}/projects/import/{_seg(name)}",
            params=params,
            content=data,
            headers={"Content-Type": "application/zip"},
            timeout=LONG_TIMEOUT,
        )

    async def scan(self, what: Literal["projects", "config"]) -> Any:
        return await self.post_json(f"{API}/scan/{what}")

    async def export_tags(
        self,
        provider: str = "default",
        path: str = "",
        *,
        recursive: bool = True,
        include_udts: bool = True,
    ) -> Any:
        return await self.get_json(
            API + "/tags/export",
            params={
                "provider": provider,
                "path": path,
                "type": "json",
                "recursive": str(recursive).lower(),
                "includeUdts": str(include_udts).lower(),
            },
        )

    async def import_tags(
        self,
        tags: Any,
        provider: str = "default",
        path: str = "",
        *,
        collision_policy: str = "Abort",
    ) -> Any:
        return await self.post_json(
            API + "/tags/import",
            json_body=tags,
            params={
                "provider": provider,
                "path": path,
                "type": "json",
                "collisionPolicy": collision_policy,
            },
        )

    # -- web session (IdP flow, IGNITION.md §2c) ---------------------------------------------

    @property
    def can_log_in(self) -> bool:
        """True when the client has a username and password for the web login."""
        return bool(self.username and self.password)

    async def ensure_session(self) -> None:
        if self._csrf is None:
            await self.login()

    async def login(self) -> dict[str, Any]:
        """Log in through the gateway's IdP the way the web UI does; keeps the session cookie."""
        if self.withheld is not None:
            raise SecretOriginError(self.withheld.message, self.withheld.details)
        if not (self.username and self.password):
            who = f"credential {self.credential_name!r}" if self.credential_name else "the client"
            raise GatewayAuthError(
                f"This action needs a gateway web login: give {who} a username and password",
                code="validation_error",
            )
        self._http.cookies.clear()
        first = await self._expect_redirect("GET", "/data/app/login")
        auth_url = urlsplit(first)
        idp_path = auth_url.path
        match = re.match(r"^/idp/([^/]+)/oidc/auth$", idp_path)
        if not match:
            raise GatewayError(f"Unexpected login redirect to {idp_path!r}", path="/data/app/login")
        idp = match.group(1)
        login_url = urlsplit(await self._expect_redirect("GET", first))
        params = dict(parse_qsl(login_url.query))
        token = params.pop("token", "")
        step = await self._idp_post(idp, "next-challenge", {"token": token})
        for _ in range(5):
            if step.get("complete"):
                break
            kinds = [c.get("type") for c in step.get("nextChallenge") or []]
            if "basic" not in kinds:
                raise GatewayAuthError(
                    f"Gateway login asks for {kinds or 'an unknown challenge'}; only username and "
                    "password (basic) are supported",
                    code="unauthorized",
                )
            submitted = await self._idp_post(
                idp,
                "submit-challenge/basic",
                {
                    "token": step.get("token"),
                    "rememberMe": False,
                    "challenge": {"username": self.username, "password": self.password},
                },
            )
            if not submitted.get("success"):
                raise GatewayAuthError(
                    f"Gateway login failed for user {self.username!r}: wrong username or password",
                    code="unauthorized",
                    path=f"/idp/{idp}/authn/submit-challenge/basic",
                )
            step = await self._idp_post(idp, "next-challenge", {"token": submitted.get("token")})
        else:
            raise GatewayAuthError("Gateway login did not complete", code="unauthorized")
        params["token"] = str(step.get("token", ""))
        callback = await self._expect_redirect("GET", idp_path, params=params)
        await self._expect_redirect("GET", callback)
        session = await self.get_json("/data/app/session", auth="none")
        self._csrf = str((session or {}).get("csrfToken") or "")
        return session

    async def _expect_redirect(self, method: str, url: str, **kwargs: Any) -> str:
        response = await self._send(method, url, **kwargs)
        if response.status_code not in (301, 302, 303, 307, 308):
            self.raise_for_status(response, "session")
            raise GatewayError(
                f"Gateway login expected a redirect from {urlsplit(url).path}, got "
                f"{response.status_code}",
                status=response.status_code,
            )
        return response.headers["location"]

    async def _idp_post(self, idp: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._send("POST", f"/idp/{idp}/authn/{action}", json=body)
        self.raise_for_status(response, "session")
        result = self._json(response)
        return result if isinstance(result, dict) else {}


def parse_gwinfo(text: str) -> dict[str, str]:
    """``ContextStatus=RUNNING;Version=8.3.6;...;`` -> dict (the Helm chart's parse, O7)."""
    pairs = (item.split("=", 1) for item in text.strip().split(";") if "=" in item)
    return {k.strip(): v.strip() for k, v in pairs}


def content_filename(response: httpx.Response) -> str | None:
    match = _FILENAME.search(response.headers.get("content-disposition", ""))
    return match.group(1).strip() if match else None


def _items(body: Any) -> list[Any]:
    """Lists come bare or as ``{items, metadata}`` depending on route and version [UNC]."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return body["items"]
    return []


def _seg(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


class Stopwatch:
    """Elapsed time counted from the sleeps and calls a wait made, so a paused run's clock stops."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self._since_pause = 0.0

    async def timed(self, awaitable: Any) -> Any:
        started = time.monotonic()
        try:
            return await awaitable
        finally:
            took = time.monotonic() - started
            self.elapsed += took
            self._since_pause += took

    async def pause(self, sleep: Callable[[float], Awaitable[None]], seconds: float) -> None:
        """Sleep so that polls *start* ``seconds`` apart: the calls made since the last pause count
        towards it. Sleeping the full pause after each call would let every call's latency push
        the next poll later; across a 50-gateway fleet, whose polls queue on one event loop, that
        drift put restart detection 0.1-0.15 s after the gateway was ready. A fifth of the pause
        is always slept, so a slow gateway is never polled back to back."""
        wait = max(seconds - self._since_pause, seconds / 5)
        self._since_pause = 0.0
        await sleep(wait)
        self.elapsed += wait


__all__ = [
    "API",
    "GatewayClient",
    "Stopwatch",
    "check_url",
    "content_filename",
    "gateway_message",
    "parse_gwinfo",
    "tls_verify",
]
