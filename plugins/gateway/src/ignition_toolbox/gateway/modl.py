"""Reading ``.modl`` module files without extracting them (SECURITY.md SR-19).

A ``.modl`` is a zip with ``module.xml`` at its root. The file comes from whoever wrote the playbook or
uploaded it, so it is treated as hostile: only the central directory and the one exact-named
``module.xml`` member are read, with caps on entry count, declared and actual size and compression
ratio, and the XML is parsed with defusedxml (no entities, no DTD tricks). Tags are matched
case-insensitively because the older SDK docs write ``requiredignitionversion``.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

MODULE_XML = "module.xml"
CERTIFICATES = "certificates.p7b"
SIGNATURES = "signatures.properties"

MAX_MODL_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_XML_BYTES = 1024 * 1024
MAX_RATIO = 100


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
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > max_bytes:
        raise ModlError(f"{name} is {info.file_size} bytes; the limit is {max_bytes}")
    if info.compress_size and info.file_size / info.compress_size > max_ratio:
        raise ModlError(f"{name} is compressed more than {max_ratio}:1 (zip bomb?)")
    with archive.open(info) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ModlError(f"{name} expands past {max_bytes} bytes")
    return data


def open_zip(
    data: bytes, *, what: str = "module", max_entries: int = MAX_ENTRIES
) -> zipfile.ZipFile:
    """Open ``data`` as a zip, checking only its central directory."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ModlError(f"The {what} file is not a zip archive") from exc
    if len(archive.infolist()) > max_entries:
        archive.close()
        raise ModlError(f"The {what} file has more than {max_entries} entries")
    return archive


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
    """Return the metadata of a ``.modl`` given as bytes or a path. Nothing is written to disk."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ModlError(f"Module file {path.name!r} does not exist")
        if path.stat().st_size > max_bytes:
            raise ModlError(f"Module file {path.name!r} is larger than {max_bytes} bytes")
        data = path.read_bytes()
    else:
        data = bytes(source)
        if len(data) > max_bytes:
            raise ModlError(f"Module file is larger than {max_bytes} bytes")
    with open_zip(data, max_entries=max_entries) as archive:
        names = tuple(archive.namelist())
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
