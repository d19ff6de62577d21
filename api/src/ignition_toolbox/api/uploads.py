"""What an uploaded input file must be, per kind, before it is stored (SECURITY.md SR-19, SR-23).

An upload is hostile until checked, and the checks are the gateway client's: a ``.modl`` gets SR-19
in full (exact root ``module.xml``, entry caps, safe names, defusedxml), a gateway backup and a
project export get the same zip checks plus the one file that makes them what they claim to be,
and the text kinds get a parse. Every check reads the file from disk through capped, streaming
reads, so a refusal costs neither time nor memory however big the file claims to be. Each refusal
is a ``validation_error``; nothing here writes anything.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from xml.etree.ElementTree import Element

from ignition_toolbox.core import ValidationError
from ignition_toolbox.core.archives import ZipLimits, check_entries, open_zip, read_member

from .safe_xml import check_xml_stream, parse_xml

MiB = 1024 * 1024
GiB = 1024 * MiB

MODULE_XML = "module.xml"
PROJECT_JSON = "project.json"
# Root entries only a gateway backup has: the simulator's marker (IGNITION.md, Backups) and the
# files of a real one (the internal database and the backup descriptor of 8.x gateways).
BACKUP_MARKERS = ("gateway.xml", "backupinfo.xml", "db_backup_sqlite.idb")
BACKUP_XML = ("gateway.xml", "backupinfo.xml")

MODULE_LIMITS = ZipLimits()
# A backup or a project holds one or more files per resource, so a large gateway's runs into tens
# of thousands of entries, and a backup's internal database alone can pass a GiB unpacked.
BACKUP_LIMITS = ZipLimits(max_entries=50_000, max_entry_bytes=4 * GiB, max_total_bytes=8 * GiB)
PROJECT_LIMITS = ZipLimits(max_entries=50_000, max_total_bytes=2 * GiB)
MAX_DESCRIPTOR_BYTES = MiB  # module.xml, project.json, the backup's XML markers
MAX_TEXT_BYTES = 32 * MiB  # .json, .xml and .csv are parsed whole or streamed line by line
_SCAN_CHUNK = MiB


def check_module(path: Path) -> None:
    """SR-19: the same checks the gateway client makes before it sends a module anywhere."""
    with open_zip(path, what="module", max_entries=MODULE_LIMITS.max_entries) as archive:
        if MODULE_XML not in archive.namelist():
            raise ValidationError(
                "The module file has no module.xml at its root (the name is exact: not "
                "Module.xml, not inside a folder)"
            )
        check_entries(archive, what="module", limits=MODULE_LIMITS)
        xml = read_member(archive, MODULE_XML, max_bytes=MAX_DESCRIPTOR_BYTES) or b""
    _check_module_descriptor(parse_xml(xml, what=MODULE_XML))


def _check_module_descriptor(root: Element) -> None:
    """``<modules><module>`` (or a bare ``<module>``) declaring an id, a name and a version, the
    fields without which no gateway takes a module; tags are case-insensitive as in modl.py."""
    module: Element | None = root if _local(root.tag) == "module" else None
    if _local(root.tag) == "modules":
        module = next((c for c in root if _local(c.tag) == "module"), None)
    if module is None:
        raise ValidationError("module.xml has no <module> element")
    declared = {_local(c.tag) for c in module if (c.text or "").strip()}
    missing = [f"<{f}>" for f in ("id", "name", "version") if f not in declared]
    if missing:
        raise ValidationError(f"module.xml does not declare {', '.join(missing)}")


def check_backup(path: Path) -> None:
    """A safe zip with a gateway backup's root files; its XML markers must parse safely."""
    with open_zip(path, what="backup", max_entries=BACKUP_LIMITS.max_entries) as archive:
        check_entries(archive, what="backup", limits=BACKUP_LIMITS)
        names = set(archive.namelist())
        if not names.intersection(BACKUP_MARKERS):
            raise ValidationError(
                "The backup file is not a gateway backup: it has none of "
                f"{', '.join(BACKUP_MARKERS)} at its root"
            )
        for name in BACKUP_XML:
            raw = read_member(archive, name, max_bytes=MAX_DESCRIPTOR_BYTES, max_ratio=1000)
            if raw is not None:
                parse_xml(raw, what=name)


def check_project(path: Path) -> None:
    """A safe zip with ``project.json`` at its root or inside one top folder, holding an object."""
    with open_zip(path, what="project", max_entries=PROJECT_LIMITS.max_entries) as archive:
        check_entries(archive, what="project", limits=PROJECT_LIMITS)
        names = archive.namelist()
        found = (
            [PROJECT_JSON]
            if PROJECT_JSON in names
            else [n for n in names if n.count("/") == 1 and n.endswith("/" + PROJECT_JSON)]
        )
        if len(found) != 1:
            raise ValidationError(
                "The project file must hold exactly one project.json, at its root or inside "
                f"one top folder (found {len(found)})"
            )
        raw = read_member(archive, found[0], max_bytes=MAX_DESCRIPTOR_BYTES, max_ratio=1000)
    try:
        settings = json.loads((raw or b"").decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValidationError(f"{found[0]} in the project file is not valid JSON") from None
    if not isinstance(settings, dict):
        raise ValidationError(f"{found[0]} in the project file is not a JSON object")


def check_json(path: Path) -> None:
    _text_size(path, "JSON")
    try:
        json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError("The JSON file is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ValidationError(f"The JSON file is not valid JSON{where}") from None


def check_xml(path: Path) -> None:
    _text_size(path, "XML")
    with path.open("rb") as handle:
        check_xml_stream(handle, what="The XML file")


def check_csv(path: Path) -> None:
    """UTF-8 text without NUL bytes that the csv module reads to the end."""
    _text_size(path, "CSV")
    with path.open("rb") as handle:
        while chunk := handle.read(_SCAN_CHUNK):
            if b"\0" in chunk:
                raise ValidationError("The CSV file holds NUL bytes; it is not text")
    try:
        with path.open(encoding="utf-8-sig", newline="") as text:
            for _row in csv.reader(text):
                pass
    except UnicodeDecodeError:
        raise ValidationError("The CSV file is not UTF-8 text") from None
    except csv.Error as exc:
        raise ValidationError(f"The CSV file cannot be read as CSV ({exc})") from None


def _text_size(path: Path, kind: str) -> None:
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise ValidationError(
            f"A {kind} upload may be at most {MAX_TEXT_BYTES} bytes",
            {"limit_bytes": MAX_TEXT_BYTES},
        )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


# Every ending a step may read, with its check; the keys are what /api/uploads accepts.
CHECKS: dict[str, Callable[[Path], None]] = {
    ".modl": check_module,
    ".gwbk": check_backup,
    ".zip": check_project,
    ".json": check_json,
    ".xml": check_xml,
    ".csv": check_csv,
}


def check(path: Path, ending: str) -> None:
    """Run the check for ``ending`` (one of ``CHECKS``) on the file at ``path``."""
    CHECKS[ending](path)


__all__ = ["CHECKS", "check"]
