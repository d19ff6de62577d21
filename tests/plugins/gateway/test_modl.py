"""``.modl`` reading never extracts and refuses hostile archives (SECURITY.md SR-19)."""

from __future__ import annotations

import io
import zipfile

import pytest

from ignition_toolbox.gateway.modl import ModlError, read_modl
from ignition_toolbox.gateway.sim import make_modl


def _zip(entries: dict[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


XML = "<modules><module><id>com.x</id><name>X</name><version>1.0.0</version></module></modules>"


def test_camel_lower_and_bare_root_variants_parse_alike() -> None:
    camel = read_modl(make_modl("com.a", "A", "1.2.3", required="8.3.1"))
    lower = read_modl(make_modl("com.a", "A", "1.2.3", required="8.3.1", case="lower"))
    bare = read_modl(make_modl("com.a", "A", "1.2.3", required="8.3.1", root="module"))
    for meta in (camel, lower, bare):
        assert (meta.id, meta.version, meta.required_ignition_version) == (
            "com.a",
            "1.2.3",
            "8.3.1",
        )
        assert meta.hooks == ({"scope": "G", "class": "com.example.sim.GatewayHook"},)


def test_single_line_xml_and_uppercase_tags() -> None:
    xml = "<MODULES><MODULE><ID>com.y</ID><NAME>Y</NAME><VERSION>2</VERSION></MODULE></MODULES>"
    assert read_modl(_zip({"module.xml": xml})).id == "com.y"


def test_signed_needs_both_files() -> None:
    assert read_modl(make_modl(signed=True)).signed is True
    assert read_modl(_zip({"module.xml": XML, "certificates.p7b": b"x"})).signed is False


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"Module.xml": XML}, "no module.xml"),
        ({"sub/module.xml": XML}, "no module.xml"),
        ({"./module.xml": XML}, "no module.xml"),
        ({"module.xml": "<modules><module><id>x</id></module></modules>"}, "<name>"),
        ({"module.xml": "<modules>"}, "not well-formed"),
        ({"module.xml": "<plugin/>"}, "unexpected root"),
        ({"module.xml": '<!DOCTYPE m [<!ENTITY e "x">]><modules/>'}, "forbidden XML"),
        (
            {
                "module.xml": '<!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                "<modules><module><id>&e;</id></module></modules>"
            },
            "forbidden XML",
        ),
    ],
    ids=[
        "wrong-case-name",
        "nested",
        "dot-slash",
        "missing-fields",
        "malformed",
        "wrong-root",
        "dtd-entity",
        "xxe",
    ],
)
def test_rejections(entries: dict[str, str], message: str) -> None:
    with pytest.raises(ModlError, match=message):
        read_modl(_zip(entries))


def test_not_a_zip() -> None:
    with pytest.raises(ModlError, match="not a zip"):
        read_modl(b"MZ\x90\x00 definitely not a zip")


def test_zip_bomb_ratio_is_refused_without_inflating() -> None:
    bomb = _zip({"module.xml": "<a>" + " " * 5_000_000 + "</a>"})
    assert len(bomb) < 50_000
    with pytest.raises(ModlError, match=r"compressed more than|bytes; the limit"):
        read_modl(bomb)


def test_oversized_module_xml_is_refused() -> None:
    big = _zip({"module.xml": "x" * (2 * 1024 * 1024)}, zipfile.ZIP_STORED)
    with pytest.raises(ModlError, match="limit is"):
        read_modl(big)


def test_entry_cap() -> None:
    many = _zip({f"f{i}": b"" for i in range(50)} | {"module.xml": XML})
    with pytest.raises(ModlError, match="more than 10 entries"):
        read_modl(many, max_entries=10)


def test_file_size_cap(tmp_path) -> None:
    path = tmp_path / "m.modl"
    path.write_bytes(make_modl())
    with pytest.raises(ModlError, match="larger than"):
        read_modl(path, max_bytes=100)
    assert read_modl(path).id == "com.example.sim"


def test_reading_writes_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", lambda *a, **k: pytest.fail("extracted"))
    monkeypatch.setattr(zipfile.ZipFile, "extract", lambda *a, **k: pytest.fail("extracted"))
    read_modl(make_modl(eula=True, signed=True))
    assert list(tmp_path.iterdir()) == []
