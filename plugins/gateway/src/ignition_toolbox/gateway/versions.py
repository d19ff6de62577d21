"""Ignition version strings, compared as numbers.

Gateways report ``8.3.6 (b2026042713)`` and modules ask for ``8.3.0`` or ``8.1``; comparing those as
strings gets ``8.10 < 8.9`` wrong, so both sides are reduced to integer tuples first.
"""

from __future__ import annotations

import re

_NUMBERS = re.compile(r"\d+(?:\.\d+)*")


def parse_version(text: str | None) -> tuple[int, ...]:
    """Return the leading dotted number of ``text`` as a tuple (``"8.3.6 (b1)"`` -> ``(8, 3, 6)``).

    An empty or numberless string gives ``()``, which sorts below every real version.
    """
    if not text:
        return ()
    match = _NUMBERS.search(str(text))
    if not match:
        return ()
    return tuple(int(part) for part in match.group(0).split("."))


def version_at_least(have: str | None, need: str | None) -> bool:
    """True when version ``have`` is ``need`` or newer (missing parts count as zero)."""
    a, b = parse_version(have), parse_version(need)
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)) >= b + (0,) * (width - len(b))


def short_version(text: str | None) -> str:
    """``"8.3.6 (b2026042713)"`` -> ``"8.3.6"``; used in messages an integrator reads."""
    return ".".join(str(p) for p in parse_version(text)) or (text or "")


__all__ = ["parse_version", "short_version", "version_at_least"]
