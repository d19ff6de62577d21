"""A strict YAML loader for playbooks (SECURITY.md SR-8, cases 36–46).

LibYAML scans and parses when it is available; composition is ours, so anchors, aliases, depth and
duplicate keys are checked on the way and every node keeps its line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from .errors import ValidationError

MAX_BYTES = 512 * 1024
MAX_DEPTH = 64

try:  # LibYAML's parser, when PyYAML was built with it
    from yaml import CParser as _Parser  # type: ignore[attr-defined]

    _C = True
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml.parser import Parser as _Parser  # type: ignore[assignment,unused-ignore]
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    _C = False


class _StrictResolver(Resolver):
    """YAML 1.1 implicit types minus timestamps, which JSON Schema cannot describe."""


_StrictResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}


class _Rejected(yaml.MarkedYAMLError):
    pass


if _C:

    class _Base(Composer, _Parser, SafeConstructor, _StrictResolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            _StrictResolver.__init__(self)

else:  # pragma: no cover

    class _Base(Reader, Scanner, _Parser, Composer, SafeConstructor, _StrictResolver):  # type: ignore[misc,no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _Parser.__init__(self)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            _StrictResolver.__init__(self)


def _mark(event: Any) -> Any:
    """LibYAML's marks and PyYAML's are different classes with the same line and column."""
    return event.start_mark


class StrictLoader(_Base):
    """Rejects anchors, aliases, python tags, duplicate keys and nesting deeper than ``MAX_DEPTH``."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Rejected(None, None, "aliases are not allowed in playbooks", _mark(event))
        if getattr(event, "anchor", None) is not None:
            raise _Rejected(None, None, "anchors are not allowed in playbooks", _mark(event))
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Rejected(
                    None, None, f"nesting is deeper than {MAX_DEPTH} levels", _mark(event)
                )
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


@dataclass
class LoadedDocument:
    """The parsed data with the position (line, column; 1-based) of every node by JSON path."""

    data: Any
    positions: dict[tuple[str | int, ...], tuple[int, int]] = field(default_factory=dict)

    def position(self, path: tuple[str | int, ...] | list[str | int]) -> tuple[int, int] | None:
        path = tuple(path)
        while True:
            found = self.positions.get(path)
            if found or not path:
                return found
            path = path[:-1]


def _error(
    source: str, message: str, line: int | None = None, column: int | None = None
) -> ValidationError:
    where = f"{source}:{line}:{column}: " if line else f"{source}: "
    details: dict[str, Any] = {"file": source}
    if line:
        details.update(line=line, column=column)
    return ValidationError(where + message, details)


def decode(raw: bytes, source: str = "<playbook>") -> str:
    """Bytes to text: UTF-8 only (a UTF-8 BOM is dropped); UTF-16/32 and invalid bytes are refused."""
    if len(raw) > MAX_BYTES:
        raise ValidationError(
            f"{source}: playbook is larger than {MAX_BYTES // 1024} KiB",
            {"file": source, "limit_bytes": MAX_BYTES},
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError(f"{source}: playbooks must be UTF-8, not UTF-16/32", {"file": source})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{source}: playbook is not valid UTF-8 (byte {exc.start})", {"file": source}
        ) from None
    return text.removeprefix("\ufeff")


Positions = dict[tuple[str | int, ...], tuple[int, int]]


def _walk(node: yaml.Node, path: tuple[str | int, ...], positions: Positions, source: str) -> None:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                raise _error(
                    source,
                    "mapping keys must be plain scalars",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            if key in seen:
                raise _error(
                    source,
                    f"duplicate key '{key}'",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            seen.add(key)
            _walk(value_node, (*path, key), positions, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), positions, source)


def load_yaml(text: str | bytes, source: str = "<playbook>") -> LoadedDocument:
    """Parse one YAML document strictly. Every failure is a ``ValidationError`` with line and column."""
    if isinstance(text, bytes):
        text = decode(text, source)
    elif len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ValidationError(
            f"{source}: playbook is larger than {MAX_BYTES // 1024} KiB",
            {"file": source, "limit_bytes": MAX_BYTES},
        )
    if "\x00" in text:
        raise _error(source, "NUL characters are not allowed")
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _error(source, "the playbook is empty")
        positions: dict[tuple[str | int, ...], tuple[int, int]] = {}
        _walk(node, (), positions, source)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if "could not determine a constructor" in problem:
            problem = "custom tags are not allowed" + problem[problem.find(" for the tag") :]
        raise _error(
            source, problem, mark.line + 1 if mark else None, mark.column + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise _error(source, f"invalid YAML: {type(exc).__name__}") from None
    except RecursionError:
        raise _error(source, f"nesting is deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    return LoadedDocument(data, positions)
