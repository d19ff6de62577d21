"""Zip files for the upload tests, honest and hostile, built here with zipfile (the server tests do
not import the gateway plugin, whose simulator has builders of its own)."""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile
from pathlib import Path

MODULE_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b"<modules><module><id>com.example.up</id><name>Up</name><version>1.0.0</version>"
    b"<requiredIgnitionVersion>8.3.0</requiredIgnitionVersion></module></modules>"
)
MiB = 1024 * 1024


def build_zip(
    entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED, *, duplicate: str = ""
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
        if duplicate:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile warns, and writes it all the same
                archive.writestr(zipfile.ZipInfo(duplicate), b"second", compress_type=compression)
    return buffer.getvalue()


def modl(extra: dict[str, bytes] | None = None, *, padding: int = 0) -> bytes:
    """An honest module; ``padding`` bytes of stored (uncompressed) jar make it as big as needed."""
    entries = {"module.xml": MODULE_XML, **(extra or {})}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if padding:
            archive.writestr(
                zipfile.ZipInfo("gateway-1.0.0.jar"), b"\x01" * padding, zipfile.ZIP_STORED
            )
    return buffer.getvalue()


def gwbk(extra: dict[str, bytes] | None = None) -> bytes:
    """Shaped like the simulator's backups (IGNITION.md, Backups): marker, manifest, projects/."""
    return build_zip(
        {
            "gateway.xml": b'<gateway name="sim" type="all"/>',
            "sim-backup.json": json.dumps({"gateway": {"name": "sim"}, "projects": {}}).encode(),
            "projects/demo/project.json": b'{"title": "demo"}',
            **(extra or {}),
        }
    )


def project_zip(prefix: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    return build_zip(
        {
            f"{prefix}project.json": b'{"title": "demo", "enabled": true}',
            f"{prefix}com.inductiveautomation.perspective/views/Main/view.json": b'{"root": {}}',
            **(extra or {}),
        }
    )


def zero_bomb(path: Path, *, name: str = "payload.bin", size: int = 200 * MiB) -> bytes:
    """A module whose one extra entry is ``size`` zero bytes deflated (~1000:1), written in 1 MiB
    pieces so the test never holds the unpacked bytes; cached at ``path``."""
    if not path.exists():
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("module.xml", MODULE_XML)
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                block = bytes(MiB)
                for _ in range(size // MiB):
                    member.write(block)
    return path.read_bytes()


def lying_module_xml(path: Path, *, size: int = 200 * MiB) -> bytes:
    """A module whose module.xml really inflates to ``size`` bytes (XML, then whitespace) while
    its headers claim 1,000 bytes: every check of declared sizes passes, only a capped read and
    zipfile's CRC check can catch it."""
    if not path.exists():
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            info = zipfile.ZipInfo("module.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                member.write(MODULE_XML)
                block = b" " * MiB
                for _ in range(size // MiB):
                    member.write(block)
        data = bytearray(path.read_bytes())
        # Uncompressed size: offset 22 in the local header, 24 in the central directory record.
        local = data.find(b"PK\x03\x04")
        central = data.find(b"PK\x01\x02")
        struct.pack_into("<I", data, local + 22, 1000)
        struct.pack_into("<I", data, central + 24, 1000)
        path.write_bytes(bytes(data))
    return path.read_bytes()


def many_entries(count: int = 20_000) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("module.xml", MODULE_XML)
        for i in range(count):
            archive.writestr(f"f/{i}", b"")
    return buffer.getvalue()


__all__ = [
    "MODULE_XML",
    "build_zip",
    "gwbk",
    "lying_module_xml",
    "many_entries",
    "modl",
    "project_zip",
    "zero_bomb",
]
