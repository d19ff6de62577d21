"""The playbook library: one writable root and read-only roots, behind one path validator (SR-7)."""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .errors import InvalidPathError, PlaybookNotFoundError, ToolboxError, ValidationError
from .files import atomic_write
from .steps import PlaybookRoot
from .yaml_loader import MAX_BYTES, decode, load_yaml

if TYPE_CHECKING:
    from .playbook import Playbook
    from .plugins import PluginManager

MAX_PATH_LENGTH = 1024
PARSED_CACHE_SIZE = 512
MAX_COMPONENTS = 16
MAX_COMPONENT_LENGTH = 128
_COMPONENT = re.compile(r"^[A-Za-z0-9._ -]+$")
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
SUFFIXES = (".yaml", ".yml")


def validate_relative_path(path: str) -> PurePosixPath:
    """The one check for every playbook path a caller gives (URL segment, JSON field, CLI).

    Policy: POSIX separators only; components of ``[A-Za-z0-9._ -]``; no ``.``/``..``/empty
    components; no leading or trailing dot or space in a component; no Windows device names;
    lower-case ``.yaml``/``.yml`` suffix only (``X.YAML`` is refused on every OS).
    """
    if not isinstance(path, str) or not path:
        raise InvalidPathError("Playbook path is empty", {"path": ""})
    if len(path) > MAX_PATH_LENGTH:
        raise ValidationError(
            f"Playbook path is longer than {MAX_PATH_LENGTH} characters", {"limit": MAX_PATH_LENGTH}
        )
    shown = path if len(path) <= 200 and "\x00" not in path else path[:200].replace("\x00", "\\0")
    invalid = InvalidPathError(f"Invalid or unsafe playbook path '{shown}'", {"path": shown})
    if "\x00" in path or "\\" in path or path.startswith("/") or ":" in path:
        raise invalid
    parts = path.split("/")
    if len(parts) > MAX_COMPONENTS:
        raise ValidationError(
            f"Playbook path has more than {MAX_COMPONENTS} components", {"limit": MAX_COMPONENTS}
        )
    for part in parts:
        if len(part) > MAX_COMPONENT_LENGTH:
            raise ValidationError(
                f"A playbook path component is longer than {MAX_COMPONENT_LENGTH} characters",
                {"limit": MAX_COMPONENT_LENGTH},
            )
        if (
            part in ("", ".", "..")
            or not _COMPONENT.match(part)
            or part[0] in ". "
            or part[-1] in ". "
            or _WINDOWS_DEVICES.match(part)
        ):
            raise invalid
    if not parts[-1].endswith(SUFFIXES) or parts[-1] in SUFFIXES:
        raise invalid
    return PurePosixPath(path)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:80] or "playbook"


@dataclass
class LibraryEntry:
    path: str
    root: PlaybookRoot
    name: str
    domain: str
    description: str
    version: str
    valid: bool
    error: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "path": self.path,
            "domain": self.domain,
            "description": self.description,
            "version": self.version,
            "valid": self.valid,
            "writable": self.root.writable,
        }
        if self.error:
            out["error"] = self.error
        return out


class PlaybookLibrary:
    """Ordered roots: the writable root first, then read-only roots. The first match wins."""

    def __init__(self, roots: list[PlaybookRoot]) -> None:
        writable = [r for r in roots if r.writable]
        if len(writable) > 1:
            raise ToolboxError("a library has at most one writable root")
        self.roots = sorted(roots, key=lambda r: not r.writable)
        self.writable = writable[0] if writable else None
        # Parsed playbooks by (source, content hash, plugin manager): a server starts the same
        # playbooks again and again, and parsing plus validation costs far more than a read.
        self._parsed: OrderedDict[tuple[str, str, int], Playbook] = OrderedDict()

    @classmethod
    def from_plugins(
        cls,
        plugins: PluginManager,
        writable: Path | None = None,
        extra: list[PlaybookRoot] | None = None,
    ) -> PlaybookLibrary:
        roots: list[PlaybookRoot] = []
        if writable is not None:
            writable.mkdir(parents=True, exist_ok=True)
            roots.append(PlaybookRoot("user", writable, writable=True))
        roots.extend(extra or [])
        roots.extend(plugins.playbook_roots())
        return cls(roots)

    # -- resolving -----------------------------------------------------------------------------

    @staticmethod
    def _contained(root: Path, relative: PurePosixPath) -> Path | None:
        """The real file for ``relative`` under ``root``, or None; symlinks must stay inside."""
        base = root.resolve()
        candidate = base.joinpath(*relative.parts)
        try:
            real = candidate.resolve(strict=True)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, RuntimeError):
            raise InvalidPathError(
                f"Invalid or unsafe playbook path '{relative}'", {"path": str(relative)}
            ) from None
        if not real.is_relative_to(base):
            raise InvalidPathError(
                f"Invalid or unsafe playbook path '{relative}'", {"path": str(relative)}
            )
        if not real.is_file():
            raise InvalidPathError(f"'{relative}' is not a playbook file", {"path": str(relative)})
        return real

    @staticmethod
    def _within(root: PlaybookRoot, relative: PurePosixPath) -> PurePosixPath | None:
        """``relative`` as a path inside ``root``, or None when the root's prefix does not match."""
        if not root.prefix:
            return relative
        prefix = PurePosixPath(root.prefix)
        if relative.parts[: len(prefix.parts)] != prefix.parts or relative == prefix:
            return None
        return PurePosixPath(*relative.parts[len(prefix.parts) :])

    def locate(self, path: str) -> tuple[PlaybookRoot, Path]:
        relative = validate_relative_path(path)
        for root in self.roots:
            inside = self._within(root, relative)
            found = self._contained(root.path, inside) if inside is not None else None
            if found is not None:
                return root, found
        raise PlaybookNotFoundError(f"Playbook '{relative}' not found", {"path": str(relative)})

    def read_bytes(self, path: str) -> bytes:
        root, real = self.locate(path)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(real, flags)
        except OSError:
            raise InvalidPathError(
                f"Invalid or unsafe playbook path '{path}'", {"path": path}
            ) from None
        with os.fdopen(fd, "rb") as handle:
            # Re-check after open: the file may have been swapped for a symlink since resolve().
            if not Path(os.path.realpath(real)).is_relative_to(root.path.resolve()):
                raise InvalidPathError(f"Invalid or unsafe playbook path '{path}'", {"path": path})
            data = handle.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValidationError(
                f"{path}: playbook is larger than {MAX_BYTES // 1024} KiB",
                {"limit_bytes": MAX_BYTES},
            )
        return data

    def read_text(self, path: str) -> str:
        return decode(self.read_bytes(path), path)

    def load(self, path: str, plugins: PluginManager) -> Playbook:
        return self.parse(self.read_bytes(path), plugins, path)

    def parse(self, raw: bytes, plugins: PluginManager, path: str) -> Playbook:
        """``raw``, the bytes of ``path``, as a playbook: parsed once per content, then cached."""
        from .playbook import parse_playbook

        key = self._key(raw, plugins, path)
        playbook = self._lookup(key)
        if playbook is None:
            playbook = parse_playbook(raw, plugins, key[0])
            self._parsed[key] = playbook
            if len(self._parsed) > PARSED_CACHE_SIZE:
                self._parsed.popitem(last=False)
        return playbook

    def parsed_before(self, raw: bytes, plugins: PluginManager, path: str) -> Playbook | None:
        """The playbook when these bytes of ``path`` were parsed before, else None: a hash and a
        lookup, cheap enough for an event loop (a parse is not)."""
        return self._lookup(self._key(raw, plugins, path))

    def _lookup(self, key: tuple[str, str, int]) -> Playbook | None:
        cached = self._parsed.get(key)
        if cached is not None:
            self._parsed.move_to_end(key)
        return cached

    @staticmethod
    def _key(raw: bytes, plugins: PluginManager, path: str) -> tuple[str, str, int]:
        return (str(validate_relative_path(path)), hashlib.sha256(raw).hexdigest(), id(plugins))

    # -- listing -------------------------------------------------------------------------------

    def entries(self, plugins: PluginManager | None = None) -> list[LibraryEntry]:
        """Every playbook once (a writable copy hides a read-only one); bad files are flagged."""
        seen: dict[str, LibraryEntry] = {}
        for root in self.roots:
            base = root.path
            if not base.is_dir():
                continue
            for file in sorted(base.rglob("*")):
                if file.suffix not in SUFFIXES or not file.is_file():
                    continue
                relative = file.relative_to(base).as_posix()
                if root.prefix:
                    relative = f"{root.prefix}/{relative}"
                if relative in seen:
                    continue
                try:
                    validate_relative_path(relative)
                except ToolboxError:
                    continue
                seen[relative] = self._entry(root, relative, plugins)
        return sorted(seen.values(), key=lambda e: e.path)

    def _entry(
        self, root: PlaybookRoot, relative: str, plugins: PluginManager | None
    ) -> LibraryEntry:
        domain = relative.split("/", 1)[0] if "/" in relative else ""
        entry = LibraryEntry(relative, root, PurePosixPath(relative).stem, domain, "", "", True)
        try:
            raw = self.read_bytes(relative)
            if plugins is not None:
                playbook = self.parse(raw, plugins, relative)
                entry.name, entry.description, entry.version = (
                    playbook.name,
                    playbook.description,
                    playbook.version,
                )
                entry.domain = playbook.domain or domain
            else:
                data = load_yaml(raw, relative).data
                if isinstance(data, dict):
                    entry.name = str(data.get("name", entry.name))
                    entry.description = str(data.get("description", ""))
                    entry.version = str(data.get("version", ""))
                    entry.domain = str(data.get("domain", domain))
        except ToolboxError as exc:
            entry.valid, entry.error = False, exc.message
        return entry

    # -- writing (the writable root only) ------------------------------------------------------

    def _writable_target(self, path: str) -> Path:
        relative = validate_relative_path(path)
        if self.writable is None:
            raise ValidationError("This library has no writable playbook folder")
        self.writable.path.mkdir(parents=True, exist_ok=True)
        base = self.writable.path.resolve()
        target = base.joinpath(*relative.parts)
        parent = target.parent
        existing = parent
        while not existing.exists():
            existing = existing.parent
        if not existing.resolve().is_relative_to(base):
            raise InvalidPathError(
                f"Invalid or unsafe playbook path '{relative}'", {"path": str(relative)}
            )
        if target.is_symlink():
            raise InvalidPathError(
                f"Invalid or unsafe playbook path '{relative}'", {"path": str(relative)}
            )
        return target

    def is_writable(self, path: str) -> bool:
        try:
            root, _ = self.locate(path)
        except PlaybookNotFoundError:
            return True
        return root.writable

    def write(self, path: str, content: bytes) -> bool:
        """Write atomically (temp file, fsync, replace). Returns True when the file is new."""
        target = self._writable_target(path)
        created = not target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, content)
        return created

    def delete(self, path: str) -> None:
        root, real = self.locate(path)
        if not root.writable:
            raise ValidationError(
                f"Playbook '{path}' is shipped read-only and cannot be deleted", {"path": path}
            )
        real.unlink()

    def duplicate(
        self, source_path: str, new_name: str, plugins: PluginManager | None = None
    ) -> str:
        """Copy a playbook into the writable root as ``<domain>/<slug>.yaml`` with the new name."""
        if not new_name or not new_name.strip() or len(new_name) > 200:
            raise ValidationError("new_name must be 1 to 200 characters", {"field": "new_name"})
        text = self.read_text(source_path)
        folder = str(PurePosixPath(source_path).parent)
        slug = slugify(new_name)
        candidate = f"{slug}.yaml" if folder == "." else f"{folder}/{slug}.yaml"
        counter = 2
        while self._exists_anywhere(candidate):
            candidate = (
                f"{slug}-{counter}.yaml" if folder == "." else f"{folder}/{slug}-{counter}.yaml"
            )
            counter += 1
        renamed = _rename(text, new_name)
        if plugins is not None:
            from .playbook import parse_playbook

            parse_playbook(renamed.encode("utf-8"), plugins, candidate)
        self.write(candidate, renamed.encode("utf-8"))
        return candidate

    def _exists_anywhere(self, path: str) -> bool:
        try:
            self.locate(path)
        except PlaybookNotFoundError:
            return False
        return True


def _rename(text: str, new_name: str) -> str:
    """Replace the top-level ``name:`` line, keeping the rest of the file (comments too) as it was."""
    import json

    line = f"name: {json.dumps(new_name, ensure_ascii=False)}"
    pattern = re.compile(r"^name:.*$", re.MULTILINE)
    if pattern.search(text):
        return pattern.sub(lambda _m: line, text, count=1)
    return f"{line}\n{text}"
