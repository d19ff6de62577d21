"""The simulated 8.3 gateway web UI (IGNITION.md §4e): small HTML pages plus vanilla JS that call the
simulator's own REST routes with the session cookie and CSRF token, carrying the hooks real gateways
and the reference playbooks (R10–R16) use, so browser-driven gateway playbooks can be tested.
"""

from .pages import PAGES, register

__all__ = ["PAGES", "register"]
