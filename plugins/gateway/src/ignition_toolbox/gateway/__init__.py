"""Ignition gateway support for Ignition Toolbox: REST client, step types and a simulated gateway."""

from .modl import ModlError, ModuleMetadata, read_modl
from .versions import parse_version, version_at_least

__all__ = ["ModlError", "ModuleMetadata", "parse_version", "read_modl", "version_at_least"]
