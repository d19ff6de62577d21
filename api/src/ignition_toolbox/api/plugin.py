"""The server's plugin: it contributes ``itk serve``, ``itk keys`` and ``itk credentials``."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import hookimpl


@hookimpl
def itk_register_commands(subparsers: Any) -> None:
    from .commands import register

    register(subparsers)
