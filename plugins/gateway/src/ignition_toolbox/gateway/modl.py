"""Reading ``.modl`` module files without extracting them (SECURITY.md SR-19).

A ``.modl`` is a zip with ``module.xml`` at its root. The file comes from whoever wrote the playbook or
uploaded it, so it is treated as hostile: only the central directory and the one exact-named
``module.xml`` member are read, with caps on entry count, declared and actual size and compression
ratio, entry names that could escape an unpacking folder are refused, and the XML is parsed with
defusedxml (no entities, no DTD tricks). The zip safety checks are core's (``core.archives``),
shared with the server's upload checks; this module adds what makes a zip a module. Tags are
matched case-insensitively because the older SDK docs write ``requiredignitionversion``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from ignition_toolbox.core import archives
from ignition_toolbox.core.archives import ArchiveError, ZipLimits

MODULE_XML = "module.xml"
CERTIFICATES = "certificates.p7b"
SIGNATURES = "signatures.properties"

MAX_MODL_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = archives.DEFAULT_LIMITS.max_entries
MAX_XML_BYTES = 1024 * 1024
MAX_RATIO = archives.DEFAULT_LIMITS.max_ratio


class ModlError(ValueError):
    """The file is not a module Ignition would accept; the message says why in plain words."""


@dataclass(frozen=True)
class ModuleMetadata:
    """What ``module.xml`` declares, plus whether the archive carries signing files."""

    id: str
    name: str
    version: str
    description: str = ""
    required_ignition_version: str = ""
    required_framework_version: str = ""
    free_module: bool = False
    license: str = ""
    documentation: str = ""
    hooks: tuple[dict[str, str], ...] = ()
    depends: tuple[dict[str, Any], ...] = ()
    jars: tuple[dict[str, str], ...] = ()
    signed: bool = False
    entries: tuple[str, ...] = field(default=(), repr=False)

    @property
    def has_eula(self) -> bool:
        return bool(self.license)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "required_ignition_version": self.required_ignition_version,
            "required_framework_version": self.required_framework_version,
            "free_module": self.free_module,
            "license": self.license,
            "documentation": self.documentation,
            "hooks": [dict(h) for h in self.hooks],
            "depends": [dict(d) for d in self.depends],
            "jars": [dict(j) for j in self.jars],
            "signed": self.signed,
            "has_eula": self.has_eula,
        }


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(element: Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


@contextmanager
def _as_modl_error() -> Iterator[None]:
    """Core's archive refusals, raised as this module's one error type (callers catch
    ``ModlError``); the message is kept word for word."""
    try:
        yield
    except ArchiveError as exc:
        raise ModlError(exc.message) from exc


def read_member(
    archive: zipfile.ZipFile,
    name: str,
    *,
    max_bytes: int = MAX_XML_BYTES,
    max_ratio: int = MAX_RATIO,
) -> bytes | None:
    """Read one exact-named member with size and ratio caps, or ``None`` when it is absent.

    The declared size is checked first, then the read itself is capped, because a crafted header
    can understate the real size.
    """
    with _as_modl_error():
        return archives.read_member(archive, name, max_bytes=max_bytes, max_ratio=max_ratio)


def open_zip(
    data: bytes | str | Path, *, what: str = "module", max_entries: int = MAX_ENTRIES
) -> zipfile.ZipFile:
    """Open ``data`` (bytes or a path) as a zip, checking only its central directory."""
    with _as_modl_error():
        return archives.open_zip(data, what=what, max_entries=max_entries)


def parse_module_xml(xml: bytes) -> dict[str, Any]:
    """Parse ``module.xml`` (``<modules><module>`` or a bare ``<module>`` root) into plain fields."""
    try:
        root = SafeET.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ModlError("module.xml uses forbidden XML features (DTD or entities)") from exc
    except SafeET.ParseError as exc:
        raise ModlError(f"module.xml is not well-formed XML ({exc})") from exc
    if _local(root.tag) == "modules":
        modules = _children(root, "module")
        if not modules:
            raise ModlError("module.xml has a <modules> root but no <module> element")
        module = modules[0]
    elif _local(root.tag) == "module":
        module = root
    else:
        raise ModlError(f"module.xml has an unexpected root element <{_local(root.tag)}>")
    fields = {
        "id": _child_text(module, "id"),
        "name": _child_text(module, "name"),
        "version": _child_text(module, "version"),
        "description": _child_text(module, "description"),
        "required_ignition_version": _child_text(module, "requiredignitionversion"),
        "required_framework_version": _child_text(module, "requiredframeworkversion"),
        "free_module": _child_text(module, "freemodule").lower() == "true",
        "license": _child_text(module, "license"),
        "documentation": _child_text(module, "documentation"),
        "hooks": tuple(
            {"scope": h.get("scope", ""), "class": (h.text or "").strip()}
            for h in _children(module, "hook")
        ),
        "depends": tuple(
            {
                "scope": d.get("scope", ""),
                "required": d.get("required", "false").lower() == "true",
                "id": (d.text or "").strip(),
            }
            for d in _children(module, "depends")
        ),
        "jars": tuple(
            {"scope": j.get("scope", ""), "name": (j.text or "").strip()}
            for j in _children(module, "jar")
        ),
    }
    missing = [k for k in ("id", "name", "version") if not fields[k]]
    if missing:
        raise ModlError(f"module.xml does not declare {', '.join('<' + m + '>' for m in missing)}")
    return fields


def read_modl(
    source: bytes | str | Path,
    *,
    max_bytes: int = MAX_MODL_BYTES,
    max_entries: int = MAX_ENTRIES,
    max_xml_bytes: int = MAX_XML_BYTES,
    max_ratio: int = MAX_RATIO,
) -> ModuleMetadata:
    """Return the metadata of a ``.modl`` given as bytes or a path. Nothing is written to disk,
    and a path is read through the zip directory, never loaded whole."""
    data: bytes | Path
    if isinstance(source, (str, Path)):
        data = Path(source)
        if not data.is_file():
            raise ModlError(f"Module file {data.name!r} does not exist")
        if data.stat().st_size > max_bytes:
            raise ModlError(f"Module file {data.name!r} is larger than {max_bytes} bytes")
    else:
        data = bytes(source)
        if len(data) > max_bytes:
            raise ModlError(f"Module file is larger than {max_bytes} bytes")
    limits = ZipLimits(max_entries=max_entries, max_ratio=max_ratio)
    with open_zip(data, max_entries=max_entries) as archive:
        names = tuple(archive.namelist())
        # Absent first: a ``Module.xml`` or ``./module.xml`` is "no module.xml", the plainer news.
        if MODULE_XML not in names:
            raise ModlError("The module file has no module.xml at its root")
        with _as_modl_error():
            archives.check_entries(archive, what="module", limits=limits)
        xml = read_member(archive, MODULE_XML, max_bytes=max_xml_bytes, max_ratio=max_ratio)
        if xml is None:
            raise ModlError("The module file has no module.xml at its root")
        fields = parse_module_xml(xml)
    signed = CERTIFICATES in names and SIGNATURES in names
    return ModuleMetadata(signed=signed, entries=names, **fields)


__all__ = [
    "ModlError",
    "ModuleMetadata",
    "open_zip",
    "parse_module_xml",
    "read_member",
    "read_modl",
]
