"""Zip archives from outside, read without trusting them (SECURITY.md SR-19, SR-23).

A ``.modl``, a gateway backup or a project export comes from whoever wrote the playbook or uploaded
it, so it is treated as hostile: nothing is ever extracted, only the central directory and a few
exact-named members are read, and every read is capped. ``check_entries`` refuses what would hurt
whoever does unpack the archive later (a gateway, an operator's unzip): names that climb out of the
target folder, absolute or drive names, backslashes, duplicates, encrypted or exotic entries, and
sizes or compression ratios that only a zip bomb has. The format-specific checks (``module.xml``,
``project.json``) live with the formats; this module knows zip only.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import ValidationError

MiB = 1024 * 1024

# The compression methods Ignition's Java side reads; bzip2 and LZMA also pack far denser bombs.
READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})

_DRIVE = re.compile(r"^[A-Za-z]:")
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_SCAN_CHUNK = MiB


class ArchiveError(ValidationError):
    """The archive is not one we accept; the message says why in plain words (``validation_error``)."""


@dataclass(frozen=True)
class ZipLimits:
    """Caps checked against the central directory, before any member is inflated.

    A compression ratio is only held against entries above ``ratio_floor``: a small file of
    repeated text legitimately packs better than any bomb threshold, and it cannot hurt anyone.
    """

    max_entries: int = 10_000
    max_entry_bytes: int = 512 * MiB
    max_total_bytes: int = 1024 * MiB
    max_ratio: int = 100
    ratio_floor: int = MiB
    methods: frozenset[int] = READABLE_METHODS


DEFAULT_LIMITS = ZipLimits()


def open_zip(
    source: bytes | str | Path | BinaryIO,
    *,
    what: str = "archive",
    max_entries: int = DEFAULT_LIMITS.max_entries,
) -> zipfile.ZipFile:
    """Open ``source`` (bytes, a path or a seekable binary file) as a zip, refusing one with more
    than ``max_entries`` entries before ``zipfile`` builds an object per entry."""
    try:
        if isinstance(source, str | Path):
            with open(source, "rb") as opened:
                _refuse_crowded_directory(opened, what, max_entries)
            archive = zipfile.ZipFile(source)
        else:
            handle = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
            _refuse_crowded_directory(handle, what, max_entries)
            archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise ArchiveError(f"The {what} file is not a zip archive") from exc
    if len(archive.infolist()) > max_entries:
        archive.close()
        raise ArchiveError(f"The {what} file has more than {max_entries} entries")
    return archive


def _refuse_crowded_directory(handle: BinaryIO, what: str, max_entries: int) -> None:
    """Refuse an archive whose central directory holds more than ``max_entries`` records.

    ``zipfile`` walks the whole directory, however large, building a ~0.5 KB object per record, and
    it goes by the directory's byte size rather than its declared count, so a few MB of minimal
    records inside an allowed upload would cost GBs. Counting record signatures in the directory
    bytes first bounds the records from above (a signature could also sit inside a name, which no
    honest archive has) at a fixed memory cost. zipfile itself locates the end record.
    """
    end = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
    if end is None:
        raise ArchiveError(f"The {what} file is not a zip archive")
    if end[zipfile._ECD_ENTRIES_TOTAL] > max_entries:  # type: ignore[attr-defined]
        raise ArchiveError(f"The {what} file has more than {max_entries} entries")
    # Where zipfile will read the directory from: it ends where the end records begin.
    stop = end[zipfile._ECD_LOCATION]  # type: ignore[attr-defined]
    if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:  # type: ignore[attr-defined]
        stop -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator  # type: ignore[attr-defined]
    start = max(0, stop - end[zipfile._ECD_SIZE])  # type: ignore[attr-defined]
    handle.seek(start)
    records, tail, left = 0, b"", stop - start
    while left > 0:
        chunk = handle.read(min(_SCAN_CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        # The 3 bytes carried over catch a signature split between chunks; a 4-byte signature
        # cannot fit inside them, so none is counted twice.
        window = tail + chunk
        records += window.count(_CENTRAL_SIGNATURE)
        tail = window[-3:]
        if records > max_entries:
            raise ArchiveError(f"The {what} file has more than {max_entries} entries")


def unsafe_name_reason(name: str) -> str | None:
    """Why ``name`` is not a plain relative POSIX path inside the archive, or ``None``."""
    if "\0" in name:
        return "contains a NUL character"
    if "\\" in name:
        return "contains a backslash"
    if name.startswith("/"):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "names a drive"
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if ".." in parts:
        return "climbs out of the archive ('..')"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' path component"
    return None


def check_entries(
    archive: zipfile.ZipFile, *, what: str = "archive", limits: ZipLimits = DEFAULT_LIMITS
) -> None:
    """Refuse unsafe names, duplicates, encrypted or unreadable entries and bomb-like sizes.

    Only the central directory is consulted; a member whose data lies about its size is caught
    when it is read (``read_member`` caps the read and zipfile checks the CRC).
    """
    if len(archive.infolist()) > limits.max_entries:
        raise ArchiveError(f"The {what} file has more than {limits.max_entries} entries")
    seen: set[str] = set()
    total = 0
    for info in archive.infolist():
        # orig_filename is the name as stored: zipfile's own ``filename`` cuts it at a NUL and,
        # on Windows, turns backslashes into slashes, which would hide both tricks.
        name = info.orig_filename
        shown = _shown(name)
        reason = unsafe_name_reason(name)
        if reason is not None:
            raise ArchiveError(f"The {what} file has an unsafe entry name {shown}: it {reason}")
        if name in seen:
            raise ArchiveError(f"The {what} file has two entries named {shown}")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise ArchiveError(f"The {what} file has an encrypted entry {shown}")
        if info.compress_type not in limits.methods:
            raise ArchiveError(
                f"The {what} file's entry {shown} uses a compression method "
                f"({info.compress_type}) that is not accepted"
            )
        if info.file_size > limits.max_entry_bytes:
            raise ArchiveError(
                f"The {what} file's entry {shown} is {info.file_size} bytes unpacked; "
                f"the limit is {limits.max_entry_bytes}"
            )
        if info.file_size > limits.ratio_floor and (
            info.compress_size == 0 or info.file_size / info.compress_size > limits.max_ratio
        ):
            raise ArchiveError(
                f"The {what} file's entry {shown} is compressed more than "
                f"{limits.max_ratio}:1 (zip bomb?)"
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ArchiveError(
                f"The {what} file unpacks to more than {limits.max_total_bytes} bytes"
            )


def read_member(
    archive: zipfile.ZipFile,
    name: str,
    *,
    max_bytes: int = MiB,
    max_ratio: int = DEFAULT_LIMITS.max_ratio,
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
        raise ArchiveError(f"{name} is {info.file_size} bytes; the limit is {max_bytes}")
    if info.compress_size and info.file_size / info.compress_size > max_ratio:
        raise ArchiveError(f"{name} is compressed more than {max_ratio}:1 (zip bomb?)")
    try:
        with archive.open(info) as handle:
            data = handle.read(max_bytes + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # A bad CRC, truncated or corrupt data, an unknown method or a password: all mean the
        # entry is not what its header says.
        raise ArchiveError(
            f"{name} cannot be read from the archive (corrupt or encrypted)"
        ) from exc
    if len(data) > max_bytes:
        raise ArchiveError(f"{name} expands past {max_bytes} bytes")
    return data


def _shown(name: str) -> str:
    """A name fit for a message: repr (so control characters show) and at most 80 characters."""
    return repr(name if len(name) <= 80 else name[:77] + "...")


__all__ = [
    "DEFAULT_LIMITS",
    "READABLE_METHODS",
    "ArchiveError",
    "ZipLimits",
    "check_entries",
    "open_zip",
    "read_member",
    "unsafe_name_reason",
]
