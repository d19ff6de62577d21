"""Fixtures of the server tests live in api_support (a unique module name: tests/core has a
conftest too)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from api_support import (  # noqa: F401
    make_settings,
    playbooks_dir,
    running,
    secured,
    server,
    server_paths,
)
