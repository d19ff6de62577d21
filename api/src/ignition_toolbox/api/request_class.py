"""The request class: the 1 MiB body cap everywhere (SR-9), module uploads excepted.

Quart fixes a body's cap when the request object is built, before any route code runs, so a larger
cap for one route has to be chosen here, from the path.
"""

from __future__ import annotations

from typing import Any

from quart import Request

UPLOAD_PATHS = frozenset({"/api/modules", "/api/uploads"})


def request_class(upload_cap: int) -> type[Request]:
    class ToolboxRequest(Request):
        def __init__(self, method: str, scheme: str, path: str, *args: Any, **kwargs: Any) -> None:
            if method == "POST" and path in UPLOAD_PATHS:
                kwargs["max_content_length"] = upload_cap
            super().__init__(method, scheme, path, *args, **kwargs)

    return ToolboxRequest
