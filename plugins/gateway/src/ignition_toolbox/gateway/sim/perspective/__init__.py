"""The simulated Perspective client (IGNITION.md §4f) and the demo project it serves by default."""

from .client import CLIENT, register, sessions_of, terminal_state
from .demo import DEMO, DEMO_SECURE, DEMO_TAGS, demo_project_zip, demo_views, load_demo
from .sessions import PerspectivePage, PerspectiveSession, PerspectiveSessions

__all__ = [
    "CLIENT",
    "DEMO",
    "DEMO_SECURE",
    "DEMO_TAGS",
    "PerspectivePage",
    "PerspectiveSession",
    "PerspectiveSessions",
    "demo_project_zip",
    "demo_views",
    "load_demo",
    "register",
    "sessions_of",
    "terminal_state",
]
