"""Reading a project's Perspective resources: ``view.json`` files and the page configuration.

The simulator renders what a project zip contains (IGNITION.md §4f.3), so a test builds its own
screens with ``make_project_zip`` and imports them like a real project. Only the subset of
``view.json`` the client renders is read here; everything else in the files is ignored.
"""

from __future__ import annotations

import json
from typing import Any

from ..state import PROJECT_JSON, SimProject

VIEWS_PREFIX = "com.inductiveautomation.perspective/views/"
PAGE_CONFIG = "com.inductiveautomation.perspective/page-config/config.json"
DEFAULT_VIEW = "Main"


def project_views(project: SimProject) -> dict[str, dict[str, Any]]:
    """``{view path: view.json}`` for every view of the project that parses."""
    views: dict[str, dict[str, Any]] = {}
    for name, data in project.files.items():
        if name.startswith(VIEWS_PREFIX) and name.endswith("/view.json"):
            path = name[len(VIEWS_PREFIX) : -len("/view.json")]
            try:
                view = json.loads(data or b"{}")
            except ValueError:
                view = {"root": {"type": "ia.sim.invalid-view", "meta": {"name": "root"}}}
            if isinstance(view, dict):
                views[path] = view
    return views


def page_config(project: SimProject, views: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The page configuration, or one derived from the views: ``/`` → Main, ``/X`` → view X."""
    raw = project.files.get(PAGE_CONFIG)
    if raw:
        try:
            config = json.loads(raw)
        except ValueError:
            config = {}
        if isinstance(config, dict) and isinstance(config.get("pages"), dict):
            return {"pages": config["pages"], "sharedDocks": config.get("sharedDocks") or {}}
    pages: dict[str, Any] = {}
    if views:
        home = DEFAULT_VIEW if DEFAULT_VIEW in views else sorted(views)[0]
        pages["/"] = {"viewPath": home}
    for path in views:
        pages.setdefault("/" + path, {"viewPath": path})
    return {"pages": pages, "sharedDocks": {}}


def project_settings(project: SimProject) -> dict[str, Any]:
    try:
        meta = json.loads(project.files.get(PROJECT_JSON) or b"{}")
    except ValueError:
        meta = {}
    return meta if isinstance(meta, dict) else {}


def requires_auth(project: SimProject) -> bool:
    """``project.json`` ``requiresAuth`` (simulator convention for a project behind the IdP)."""
    meta = project_settings(project)
    return bool(meta.get("requiresAuth") or meta.get("requires_auth"))


def normalise_page(page: str) -> str:
    page = "/" + page.strip("/")
    return page


__all__ = [
    "PAGE_CONFIG",
    "VIEWS_PREFIX",
    "normalise_page",
    "page_config",
    "project_settings",
    "project_views",
    "requires_auth",
]
