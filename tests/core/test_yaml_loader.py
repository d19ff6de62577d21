"""SECURITY.md cases 36–46: the loader refuses what could hurt and says where."""

from __future__ import annotations

import pytest

from ignition_toolbox.core import ValidationError
from ignition_toolbox.core.yaml_loader import MAX_BYTES, load_yaml


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: &x 1\nb: *x\n", "anchors are not allowed"),
        ("a: [1]\nb: *x\n", "aliases are not allowed"),
        ("!!python/object/apply:os.system ['touch pwned']\n", "custom tags are not allowed"),
        ("a: !!python/name:os.system\n", "custom tags are not allowed"),
        ("name: a\nname: b\n", "duplicate key 'name'"),
        ("---\na: 1\n---\nb: 2\n", "another document"),
        ("", "empty"),
        ("a: [1, 2\n", "expected"),
    ],
)
def test_hostile_or_broken_yaml_is_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load_yaml(text, "x.yaml")
    assert fragment in caught.value.message
    assert caught.value.code == "validation_error"


def test_errors_carry_file_line_and_column() -> None:
    with pytest.raises(ValidationError) as caught:
        load_yaml("name: a\nsteps: []\nname: b\n", "dup.yaml")
    assert caught.value.details == {"file": "dup.yaml", "line": 3, "column": 1}
    assert caught.value.message.startswith("dup.yaml:3:1:")


def test_nesting_deeper_than_64_is_refused_without_recursion_error() -> None:
    with pytest.raises(ValidationError, match="deeper than 64"):
        load_yaml("[" * 100_000 + "]" * 100_000)
    mapping = "".join("  " * i + f"k{i}:\n" for i in range(65)) + "  " * 65 + "v: 1\n"
    with pytest.raises(ValidationError, match="deeper than 64"):
        load_yaml(mapping)
    ok = "".join("  " * i + f"k{i}:\n" for i in range(63)) + "  " * 63 + "v: 1\n"
    assert load_yaml(ok).data["k0"]


def test_size_cap_is_checked_before_parsing() -> None:
    with pytest.raises(ValidationError) as caught:
        load_yaml(b"a: '" + b"x" * (MAX_BYTES + 1) + b"'\n")
    assert caught.value.details["limit_bytes"] == MAX_BYTES


def test_encodings() -> None:
    assert load_yaml("\ufeffa: 1\n".encode()).data == {"a": 1}
    with pytest.raises(ValidationError, match="UTF-16"):
        load_yaml("a: 1\n".encode("utf-16"))
    with pytest.raises(ValidationError, match="not valid UTF-8"):
        load_yaml(b"a: \xff\xfe\xfa\n")


def test_timestamps_stay_strings_and_positions_are_recorded() -> None:
    doc = load_yaml("when: 2024-01-01\nsteps:\n  - id: a\n")
    assert doc.data["when"] == "2024-01-01"
    assert doc.position(("steps", 0, "id")) == (3, 9)
    assert doc.position(("steps", 0, "nope")) == (3, 5)
