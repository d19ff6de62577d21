"""XML from outside, parsed with defusedxml (SECURITY.md SR-19, SR-23).

No DTD at all (so no entity expansion, billion-laughs or external fetches): no honest ``module.xml``,
gateway marker or tag export needs one, and refusing the whole feature is simpler than reasoning
about which parts of it are safe.
"""

from __future__ import annotations

from typing import BinaryIO
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from ignition_toolbox.core import ValidationError


class XmlInputError(ValidationError):
    """The XML is malformed or uses a forbidden feature (``validation_error``)."""


def parse_xml(data: bytes, *, what: str) -> Element:
    """Parse a small document held in memory; ``what`` names it in the messages."""
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise XmlInputError(f"{what} uses forbidden XML features (DTD or entities)") from exc
    except SafeET.ParseError as exc:
        raise XmlInputError(f"{what} is not well-formed XML ({exc})") from exc
    return root


def check_xml_stream(handle: BinaryIO, *, what: str) -> None:
    """Check a document of any size is well-formed and DTD-free, in constant memory: elements are
    dropped as soon as they close, so only the path from the root is ever held."""
    depth = 0
    root: Element | None = None
    try:
        for event, element in SafeET.iterparse(handle, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                root = element if root is None else root
                continue
            depth -= 1
            element.clear()
            if depth == 1 and root is not None:
                root.clear()
    except DefusedXmlException as exc:
        raise XmlInputError(f"{what} uses forbidden XML features (DTD or entities)") from exc
    except SafeET.ParseError as exc:
        raise XmlInputError(f"{what} is not well-formed XML ({exc})") from exc


__all__ = ["XmlInputError", "check_xml_stream", "parse_xml"]
