"""The browser UI, served by the server itself: static files only, a pure client of the public API.

The page needs no key; every API call the page makes carries the tab's key. Files come from the
package's ``static`` folder through ``send_from_directory`` (a safe join: no traversal), with a
content security policy that lets the page load nothing but its own files.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, send_from_directory
from werkzeug.exceptions import NotFound

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # The HTML report opened from a blob: URL inherits this policy and carries a <style> block.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

blueprint = Blueprint("webui", __name__)


def _harden(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@blueprint.get("/")
async def index() -> Response:
    return _harden(await send_from_directory(STATIC_DIR, "index.html"))


@blueprint.get("/ui/<path:filename>")
async def asset(filename: str) -> Response:
    try:
        response = await send_from_directory(STATIC_DIR, filename)
    except (OSError, ValueError):
        # A name the file system cannot even look up (too long, a NUL byte) is no file we serve.
        raise NotFound() from None
    return _harden(response)


__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "blueprint"]
