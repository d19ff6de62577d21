"""Secrets as opaque values with a destination (SR-20, SR-21), and the redaction behind them.

``credential.<name>.password``, ``.api_token`` and the values of parameters declared ``secret: true``
reach templates as ``Secret`` objects. A template may pass one *whole* to a step parameter whose
schema says it accepts secrets (``writeOnly: true``); every other use — a filter, an operator, a
comparison, an index or slice, iteration, interpolation into a longer string, a condition — raises
``SecretUseError`` instead of producing a transformed string that redaction would not recognise.

Only a step handler gets the text back, through ``reveal``, and only for a destination the secret is
bound to: a credential's secrets go to its gateway's origin and the few extra origins stored with it.
A secret parameter given by whoever started the run has no binding: its owner chose where it goes.

``Secrets`` keeps every value an execution has revealed or been given, and scrubs them, raw and in
their URL-encoded, JSON-escaped and base64 forms, from events, outputs and logs — the second line of
defence behind the opaque values.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from typing import Any, NoReturn

from .errors import ValidationError
from .origins import Binding, OriginError, parse_origin

REDACTED = "***"
# Short secrets are redacted only where they stand as a word of their own, so that a password such
# as "admin" does not turn every "administrator" in a message into "***istrator".
SHORT_SECRET = 8
_MIN_SECRET = 3


class SecretUseError(ValidationError):
    """A secret used in a way other than passing it whole to a parameter that accepts secrets."""


class SecretOriginError(ValidationError):
    """A secret about to be sent or typed somewhere its binding does not allow.

    ``details`` names the credential and the refused origin, so the server can audit the attempt.
    """

    @classmethod
    def refusing(cls, binding: Binding, destination: str | None, what: str) -> SecretOriginError:
        if destination is None:
            message = (
                f"the secrets of credential '{binding.credential}' may only be {what} to "
                f"{binding.describe()}, and this destination has no origin"
            )
        else:
            message = binding.refusal(destination, what)
        return cls(
            message,
            {"credential": binding.credential, "refused_origin": _origin_text(destination)},
        )


def _origin_text(url: str | None) -> str:
    try:
        return str(parse_origin(url or ""))
    except OriginError:
        return "unreadable"


def _refuse(secret: Secret, use: str) -> NoReturn:
    raise SecretUseError(
        f"{secret.label} is a secret: {use} is not allowed; a secret can only be passed whole to a "
        "step parameter that accepts secrets",
        {"secret": secret.label},
    )


class Secret:
    """An opaque secret. Its text is reached only through ``reveal``."""

    __slots__ = ("_value", "binding", "label")

    def __init__(self, value: str, label: str, binding: Binding | None = None) -> None:
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "binding", binding)

    _value: str
    label: str
    binding: Binding | None

    def reveal(self, destination: str | None, what: str = "sent") -> str:
        """The secret's text for ``destination`` (a URL), if its binding allows that origin."""
        if self.binding is not None and (destination is None or not self.binding.allows(destination)):
            raise SecretOriginError.refusing(self.binding, destination, what)
        return self._value

    # Every way a template or a handler could turn the value into something else refuses.
    def __setattr__(self, name: str, value: Any) -> None:
        _refuse(self, "changing it")

    def __str__(self) -> str:
        _refuse(self, "turning it into text or placing it inside a longer string")

    def __repr__(self) -> str:
        return f"<secret {self.label}>"

    def __format__(self, spec: str) -> str:
        _refuse(self, "formatting it")

    def __bool__(self) -> bool:
        _refuse(self, "using it in a condition")

    def __len__(self) -> int:
        _refuse(self, "taking its length")

    def __iter__(self) -> Any:
        _refuse(self, "iterating over it")

    def __reversed__(self) -> Any:
        _refuse(self, "reversing it")

    def __contains__(self, item: Any) -> bool:
        _refuse(self, "searching it")

    def __getitem__(self, key: Any) -> Any:
        _refuse(self, "indexing or slicing it")

    def __getattr__(self, name: str) -> Any:
        _refuse(self, f"reading its attribute '{name}'")

    def __eq__(self, other: object) -> bool:
        _refuse(self, "comparing it")

    def __ne__(self, other: object) -> bool:
        _refuse(self, "comparing it")

    def __lt__(self, other: object) -> bool:
        _refuse(self, "comparing it")

    __le__ = __gt__ = __ge__ = __lt__
    __hash__ = object.__hash__

    def __add__(self, other: Any) -> Any:
        _refuse(self, "concatenating it")

    __radd__ = __mul__ = __rmul__ = __mod__ = __rmod__ = __add__

    def __int__(self) -> int:
        _refuse(self, "converting it to a number")

    __float__ = __index__ = __int__

    def __reduce__(self) -> Any:
        _refuse(self, "copying or serialising it")


def reveal(value: Any, destination: str | None, what: str = "sent") -> Any:
    """``value``'s text if it is a ``Secret`` bound to allow ``destination``; other values as they are."""
    if isinstance(value, Secret):
        return value.reveal(destination, what)
    return value


def find_secrets(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Secret]]:
    """Every ``Secret`` inside ``value`` (dicts and lists at any depth), with its path."""
    if isinstance(value, Secret):
        return [(path, value)]
    found: list[tuple[tuple[str | int, ...], Secret]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += find_secrets(item, (*path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += find_secrets(item, (*path, index))
    return found


def shadow(value: Any) -> Any:
    """``value`` with each ``Secret`` replaced by ``***``, for schema checks and records."""
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, dict):
        return {k: shadow(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [shadow(v) for v in value]
    return value


def _base64_cores(secret: bytes) -> list[str]:
    """The part of the secret's base64 that is the same wherever it starts in a longer text.

    Base64 works on groups of three bytes, so the secret encodes differently at each of the three
    alignments; the characters that depend on neighbouring bytes are dropped from each end.
    """
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode()
        start = -(-offset * 4 // 3)  # the first character made of the secret's bits alone
        end = (offset + len(secret)) * 4 // 3
        core = encoded[start:end]
        if len(core) >= 8:
            cores.append(core)
    return cores


def encodings(secret: str) -> set[str]:
    """The spellings of ``secret`` worth scrubbing: raw, URL-encoded, JSON-escaped, base64."""
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    if len(secret) >= SHORT_SECRET:
        forms |= set(_base64_cores(secret.encode()))
    return {f for f in forms if f}


class Secrets:
    """Every secret value an execution has resolved, so events and outputs can be scrubbed."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._active = False  # any secret seen, even one too short to scrub as text

    def add(self, *values: str | Secret | None) -> None:
        fresh = set()
        self._active = self._active or any(isinstance(v, Secret) or v for v in values)
        for value in values:
            text = value._value if isinstance(value, Secret) else value
            if isinstance(text, str) and len(text) >= _MIN_SECRET and text not in self._values:
                fresh.add(text)
        if fresh:
            self._values |= fresh
            self._pattern = self._compile(self._values)

    @staticmethod
    def _compile(values: set[str]) -> re.Pattern[str]:
        alternatives: list[tuple[int, str]] = []
        for value in values:
            for form in encodings(value):
                escaped = re.escape(form)
                if len(value) < SHORT_SECRET:
                    escaped = rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
                alternatives.append((len(form), escaped))
        alternatives.sort(key=lambda item: item[0], reverse=True)
        return re.compile("|".join(a for _, a in alternatives))

    def __bool__(self) -> bool:
        return bool(self._values)

    def values(self) -> list[str]:
        """The secrets, longest first, for plugins that scrub their own files (traces)."""
        return sorted(self._values, key=len, reverse=True)

    def redact(self, value: Any) -> Any:
        """Return ``value`` with every known secret replaced by ``***``, at any depth."""
        if isinstance(value, Secret):
            return REDACTED
        if self._pattern is None:
            return shadow(value) if self._active else value
        if isinstance(value, str):
            return self._pattern.sub(REDACTED, value)
        if isinstance(value, dict):
            return {k: self.redact(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact(v) for v in value]
        return value


__all__ = [
    "REDACTED",
    "Secret",
    "SecretOriginError",
    "SecretUseError",
    "Secrets",
    "encodings",
    "find_secrets",
    "reveal",
    "shadow",
]
