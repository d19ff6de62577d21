"""A simulated Ignition gateway, faithful to ``spec/IGNITION.md`` §4, for tests and demos.

``SimGateway`` is the state machine (no I/O, injectable ``SimClock``); ``create_app`` wraps it in an
ASGI app usable in-process through ``httpx.ASGITransport``; ``serve`` runs it on a real port.
"""

from .app import SimASGI, apply_faults, create_app
from .builders import make_gwbk, make_modl, make_project_zip, make_tls_cert
from .clock import SimClock
from .serve import SimServer, running, serve, serve_async
from .state import SimGateway, SimHTTPError, SimOptions

__all__ = [
    "SimASGI",
    "SimClock",
    "SimGateway",
    "SimHTTPError",
    "SimOptions",
    "SimServer",
    "apply_faults",
    "create_app",
    "make_gwbk",
    "make_modl",
    "make_project_zip",
    "make_tls_cert",
    "running",
    "serve",
    "serve_async",
]
