"""Perspective sessions, pages and the component event log, as the simulator keeps them.

Every ``GET /data/perspective/client/...`` is a new Perspective *page* (IGNITION.md §3a: a
``page.goto`` mid-test creates a new page), so tests and the Perspective plugin can tell an in-app
navigation from a reload by the page id. Component actions are appended to ``events`` so a test can
assert what a click wrote without scraping the DOM (§4f "Observability").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

GOOD = "Good"
BAD_NOT_FOUND = "Bad_NotFound"


@dataclass
class PerspectivePage:
    id: str
    session_id: str
    project: str
    path: str
    opened: float
    closed: bool = False


@dataclass
class PerspectiveSession:
    id: str
    project: str
    user: str | None
    created: float
    pages: list[str] = field(default_factory=list)
    closed: bool = False
    close_message: str = ""


class PerspectiveSessions:
    """Sessions, pages, tag qualities and the event log of one simulated gateway."""

    def __init__(self) -> None:
        self.sessions: dict[str, PerspectiveSession] = {}
        self.pages: dict[str, PerspectivePage] = {}
        self.events: list[dict[str, Any]] = []
        self.tag_quality: dict[str, str] = {}

    def open_page(
        self, project: str, path: str, session_id: str | None, user: str | None, now: float
    ) -> PerspectivePage:
        """A new page, in the caller's session when it is still open for that project."""
        session = self.sessions.get(session_id or "")
        if session is None or session.closed or session.project != project:
            session = PerspectiveSession(secrets.token_hex(4), project, user, now)
            self.sessions[session.id] = session
        session.user = user or session.user
        page = PerspectivePage(secrets.token_hex(4), session.id, project, path, now)
        self.pages[page.id] = page
        session.pages.append(page.id)
        return page

    def page(self, page_id: str) -> PerspectivePage | None:
        return self.pages.get(page_id)

    def is_closed(self, page_id: str) -> tuple[bool, str]:
        page = self.pages.get(page_id)
        if page is None:
            return True, "This session is no longer available."
        session = self.sessions[page.session_id]
        return session.closed or page.closed, session.close_message

    def close(self, session_id: str | None = None, message: str = "") -> list[str]:
        """Close one session (or every open one), as ``DELETE .../sessions`` does."""
        closed = []
        for session in self.sessions.values():
            if session.closed or (session_id and session.id != session_id):
                continue
            session.closed = True
            session.close_message = message or "The session was closed by the gateway."
            closed.append(session.id)
        return closed

    def quality(self, tag_path: str, values: dict[str, Any]) -> str:
        if tag_path in self.tag_quality:
            return self.tag_quality[tag_path]
        return GOOD if tag_path in values else BAD_NOT_FOUND

    def record(self, event: dict[str, Any], now: float) -> dict[str, Any]:
        page = self.pages.get(str(event.get("pageId", "")))
        entry = {
            "seq": len(self.events) + 1,
            "time": now,
            "sessionId": page.session_id if page else None,
            "pageId": page.id if page else event.get("pageId"),
            "project": page.project if page else None,
            **{
                k: event.get(k)
                for k in (
                    "page",
                    "componentPath",
                    "componentType",
                    "domId",
                    "action",
                    "value",
                    "tagPath",
                )
            },
        }
        if page is not None and event.get("action") == "navigate" and event.get("page"):
            page.path = str(event["page"])
        self.events.append(entry)
        return entry

    def describe(self) -> dict[str, Any]:
        """The shape of ``GET /data/perspective/api/v1/sessions/`` (O1 names)."""
        items = []
        for s in self.sessions.values():
            items.append(
                {
                    "id": s.id,
                    "projectName": s.project,
                    "userName": s.user,
                    "closed": s.closed,
                    "pages": [{"id": p, "path": self.pages[p].path} for p in s.pages],
                }
            )
        return {"items": items, "metadata": {"total": len(items)}}


__all__ = ["BAD_NOT_FOUND", "GOOD", "PerspectivePage", "PerspectiveSession", "PerspectiveSessions"]
