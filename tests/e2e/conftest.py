"""Fixtures of the Web UI tests live in webui_support (a unique module name)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from webui_support import api, browser, server, sim  # noqa: F401
