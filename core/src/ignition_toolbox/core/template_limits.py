"""What one render of a playbook template may cost (SR-22).

Templates run on the server's event loop, so a template that computes ``7 ** 20000000``, builds
``'a' * 500000000`` or loops 3×10⁸ times stalls every request. ``LimitedSandbox`` bounds a render
through Jinja2's own extension points, never by re-implementing templating:

- every binary operator is in ``intercepted_binops``, so ``call_binop`` checks the size of a power,
  a product, a repetition or a concatenation *before* computing it; Jinja's constant folding also
  skips intercepted operators, so compiling (``check_syntax``) never evaluates them either;
- every filter is wrapped as a ``pass_context`` callable, which Jinja never folds at compile time,
  and checks its arguments (``center(10**9)``, ``batch``, ``join``…) before running;
- ``call`` checks string methods that take a size (``'a'.ljust(10**9)``) and ``str.format`` runs
  on a formatter that counts what it produces;
- a code generator wraps each ``{% for %}`` iterable so every iteration is counted and timed, counts
  the static text a loop or macro repeats, and routes ``~`` through a checked join; ``finalize``
  (marked ``pass_context``, so output expressions are no longer folded either) counts the rest;
- a per-render ``Budget`` (a context variable, so threads and nested renders keep their own) holds
  the wall-clock deadline, the iteration count, the output size and the bytes created.

Past a cap the render raises ``TemplateLimitError`` (a ``ValidationError``: never retried).
"""

from __future__ import annotations

import math
import re
import sys
import time
import types
from collections.abc import Callable, Collection, Iterable, Iterator
from contextvars import ContextVar, Token
from string import Formatter
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace, _PassArg, generate_lorem_ipsum, pass_context
from markupsafe import EscapeFormatter, Markup

from .errors import ValidationError

# -- the caps -------------------------------------------------------------------------------

MAX_INT_BITS = 65_536  # ~20,000 decimal digits: far past any real use, and microseconds to compute
MAX_STRING = 1 << 20  # characters in a string a template builds (1 MiB)
MAX_ITEMS = 1_000_000  # items in a list or tuple a template builds
MAX_RANGE = 100_000  # Jinja's own sandbox cap, kept so existing templates behave the same
MAX_ITERATIONS = 1_000_000  # loop iterations and items through iterating filters, per render
MAX_OUTPUT = 1 << 20  # characters a text template renders, repeated static text included (1 MiB)
MAX_CREATED_BYTES = 16 << 20  # bytes of strings and lists the render's operations create
MAX_VALUE_TEXT = 4 << 20  # text a native value (``{{ expr }}`` alone) a template built would print
MAX_JSON_INDENT = 64
# Renders run on the event loop, so a health check waits for the one in progress. The wall clock
# is the cheap first test (one clock read per check); but on a loaded machine a render of
# microseconds can be descheduled past any wall-clock deadline, so once ``DEADLINE_SECONDS`` have
# passed the render fails only after its own thread has also spent ``DEADLINE_CPU_SECONDS`` of
# CPU since. On a quiet machine a runaway template holds the loop for 50 ms at most, plus the
# longest stretch between two checks; ``DEADLINE_HARD_SECONDS`` of wall clock ends it regardless.
DEADLINE_SECONDS = 0.03
DEADLINE_CPU_SECONDS = 0.02
DEADLINE_HARD_SECONDS = 1.0
_CPU_CHECK_SECONDS = 0.005  # how often the CPU clock (a system call) is read past the deadline

_monotonic = time.perf_counter  # the cheapest monotonic clock Python offers


class TemplateLimitError(ValidationError):
    """A render went past one of the caps above; ``limit`` names which."""

    def __init__(self, limit: str, reason: str, maximum: float | None = None) -> None:
        details: dict[str, Any] = {"limit": limit}
        if maximum is not None:
            details["max"] = maximum
        super().__init__(f"hit the {limit.replace('_', ' ')} limit: {reason}", details)
        self.limit = limit


# -- the per-render budget ------------------------------------------------------------------


# What ``charge_created`` counts: a result that can be large. ``_CREATED`` is the exact types, for
# the quick test at each operator and filter; subclasses (``Markup``) still count when passed on.
_CREATED_KINDS = (str, bytes, list, tuple, dict)
_CREATED = frozenset({*_CREATED_KINDS, Markup})


class Budget:
    """What the current render has spent. ``active`` turns off when the render ends, so a lazy
    value that escapes it (``{{ items | map('upper') }}`` is a generator) is not charged later."""

    __slots__ = (
        "active",
        "cpu_mark",
        "created",
        "deadline",
        "hard_deadline",
        "iterations",
        "output",
    )

    def __init__(self) -> None:
        self.deadline = _monotonic() + DEADLINE_SECONDS  # the start is this less DEADLINE_SECONDS
        self.cpu_mark: float | None = None
        self.iterations = 0
        self.output = 0
        self.created = 0
        self.active = True

    def check_deadline(self) -> None:
        if _monotonic() > self.deadline:
            self.expired()

    def expired(self) -> None:
        """The wall clock passed the deadline: fail once this thread has also used the CPU
        allowance since, or at the hard deadline; until then look again every few ms."""
        if not self.active:
            return
        now, cpu = _monotonic(), time.thread_time()
        if self.cpu_mark is None:
            self.cpu_mark = cpu
            # still the first deadline here, so this counts from the render's start
            self.hard_deadline = self.deadline - DEADLINE_SECONDS + DEADLINE_HARD_SECONDS
        if cpu - self.cpu_mark >= DEADLINE_CPU_SECONDS or now >= self.hard_deadline:
            total = DEADLINE_SECONDS + DEADLINE_CPU_SECONDS
            raise TemplateLimitError(
                "deadline", f"the render ran past its {total * 1000:g} ms deadline", total
            )
        self.deadline = now + _CPU_CHECK_SECONDS

    def charge_iterations(self, count: int) -> None:
        self.iterations += count
        if self.iterations > MAX_ITERATIONS and self.active:
            raise TemplateLimitError(
                "iterations",
                f"more than {MAX_ITERATIONS:,} loop iterations in one render",
                MAX_ITERATIONS,
            )

    def charge_output(self, size: int) -> None:
        # No clock read: output inside a loop is timed by the loop, and outside one it is
        # bounded by the template's own length.
        self.output += size
        if self.output > MAX_OUTPUT and self.active:
            raise TemplateLimitError(
                "output_size", f"the output would pass {MAX_OUTPUT:,} characters", MAX_OUTPUT
            )

    def charge_created(self, value: Any) -> None:
        if isinstance(value, _CREATED_KINDS):
            self.created += sys.getsizeof(value)
            if self.created > MAX_CREATED_BYTES and self.active:
                raise TemplateLimitError(
                    "memory",
                    f"the render created more than {MAX_CREATED_BYTES >> 20} MiB of values",
                    MAX_CREATED_BYTES,
                )

    def reserve(self, size: int) -> None:
        """Refuse an operation whose worst-case result would not fit in what is left of
        ``MAX_CREATED_BYTES``: applied in a loop (``ns.s = ns.s | forceescape``) text grows
        geometrically, and charging only after the fact would overshoot by the growth factor."""
        if self.created + size > MAX_CREATED_BYTES and self.active:
            raise TemplateLimitError(
                "memory",
                f"the render would create more than {MAX_CREATED_BYTES >> 20} MiB of values",
                MAX_CREATED_BYTES,
            )

    def loop(self, iterable: Any) -> Any:
        """``iterable`` as a ``{% for %}`` sees it, charged, and timed at each item.

        A sized iterable is charged up front (so ``range(100000)`` nested ten deep fails at once)
        and keeps its length for ``loop.length``; any other is charged item by item."""
        self.check_deadline()
        if hasattr(type(iterable), "__len__"):
            self.charge_iterations(len(iterable))
            return _Timed(iterable, self)
        return self._counted(iterable)

    def meter(self, iterable: Any) -> Any:
        """``iterable`` as an iterating filter sees it: a sized one is charged up front and passed
        as it is (``items`` and ``dictsort`` need the mapping itself), any other item by item."""
        if hasattr(type(iterable), "__len__"):
            self.charge_iterations(len(iterable))
            return iterable
        return self._counted(iterable)

    def _counted(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            if self.active:
                self.charge_iterations(1)
                self.check_deadline()
            yield item


class _Timed:
    """A sized iterable whose iteration checks the deadline at each item."""

    __slots__ = ("_budget", "_items")

    def __init__(self, items: Any, budget: Budget) -> None:
        self._items = items
        self._budget = budget

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        budget, clock = self._budget, _monotonic
        deadline = budget.deadline  # a local: this runs at every iteration
        for item in self._items:
            if clock() > deadline:
                budget.expired()
                deadline = budget.deadline
            yield item


_CURRENT: ContextVar[Budget | None] = ContextVar("itk_template_budget", default=None)


def begin() -> tuple[Budget, Token[Budget | None] | None]:
    """Start a render's budget, or join the one already running (a nested render shares it)."""
    budget = _CURRENT.get()
    if budget is not None:
        return budget, None
    budget = Budget()
    return budget, _CURRENT.set(budget)


def end(budget: Budget, token: Token[Budget | None] | None) -> None:
    if token is not None:
        budget.active = False
        _CURRENT.reset(token)


def join_output(chunks: Iterable[str]) -> str:
    """The text of a template that runs without a budget (static text and plain references
    only): it cannot loop, so counting its output as it is joined is the only check it needs."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateLimitError(
                "output_size", f"the output would pass {MAX_OUTPUT:,} characters", MAX_OUTPUT
            )
        parts.append(chunk)
    return "".join(parts)


def check_deadline() -> None:
    """The check at attribute and item access; a no-op outside a render. Output is not a
    checkpoint: inside a loop the loop is, and outside one it is bounded by the template."""
    budget = _CURRENT.get()
    if budget is not None and _monotonic() > budget.deadline:
        budget.expired()


# -- sizes ----------------------------------------------------------------------------------

# Concrete types, not the collections ABCs: an ABC ``isinstance`` costs several times more, and
# these checks run at every output.
_SEQUENCES: tuple[type[Collection[Any]], ...] = (
    *(list, tuple, set, frozenset),
    *(type({}.keys()), type({}.values()), type({}.items())),
)
_CONTAINERS = (*_SEQUENCES, dict, Namespace)
# Values whose text is short and known without a walk (an int's is capped by Python at 4,300
# digits, and by MAX_INT_BITS for what a template computes).
_SCALARS = frozenset({str, int, float, bool, type(None)})


class _TooLarge(Exception):
    pass


def _scalar_size(value: Any) -> int:
    if isinstance(value, int):
        return 2 + value.bit_length() * 3 // 10  # decimal digits, and a sign
    return 24  # the longest repr of a float


def text_size(value: Any, limit: int) -> int:
    """About ``len(str(value))`` (within a small factor), computed without building the text.

    Lists a template builds may share items (``[s, s]`` nested forty deep), so the text can be
    exponentially larger than the memory: each object is measured once and its size reused
    wherever it appears, and the walk stops as soon as it passes ``limit``."""
    kind = type(value)
    if kind is str:
        return len(value)
    if kind is int or kind is float:
        return _scalar_size(value)
    try:
        return _text_size(value, limit, {})
    except (_TooLarge, RecursionError):
        return limit + 1


def _text_size(obj: Any, limit: int, known: dict[int, int]) -> int:
    if isinstance(obj, (str, bytes, bytearray)):
        return len(obj) + 2
    key = id(obj)
    size = known.get(key)
    if size is not None:
        return size
    if isinstance(obj, dict):
        known[key] = 5  # a mapping inside itself prints as {...}
        size = 2
        for pair in obj.items():
            size += 4 + _text_size(pair[0], limit, known) + _text_size(pair[1], limit, known)
            if size > limit:
                raise _TooLarge
    elif isinstance(obj, _SEQUENCES):
        known[key] = 5
        size = 2
        for item in obj:
            kind = type(item)
            if kind is str:
                size += len(item) + 4
            elif kind is int or kind is float:
                size += 2 + _scalar_size(item)
            elif item is None or kind is bool:
                size += 7
            else:
                size += 2 + _text_size(item, limit, known)
            if size > limit:
                raise _TooLarge
    elif isinstance(obj, Namespace):
        size = 12 + _text_size(object.__getattribute__(obj, "_Namespace__attrs"), limit, known)
    elif isinstance(obj, (int, float)):
        return _scalar_size(obj)
    else:
        return 5
    known[key] = size
    return size


def check_text(value: Any, limit: int = MAX_STRING) -> None:
    """Refuse to turn ``value`` into text when the text would pass ``limit``."""
    if isinstance(value, _CONTAINERS) and text_size(value, limit) > limit:
        raise TemplateLimitError(
            "string_size", f"the value would print more than {limit:,} characters", limit
        )


def stringify(value: Any) -> str:
    kind = type(value)
    if kind is str:
        text: str = value
        return text
    if kind not in _SCALARS:
        check_text(value)
    return str(value)


def _string_result(size: int, what: str, given: int = 0) -> None:
    """A template may not make text longer than ``MAX_STRING`` beyond what it was given."""
    if size > MAX_STRING and size > given:
        raise TemplateLimitError(
            "string_size", f"{what} would be {size:,} characters (over {MAX_STRING:,})", MAX_STRING
        )


def _list_result(size: int, what: str) -> None:
    if size > MAX_ITEMS:
        raise TemplateLimitError(
            "list_size", f"{what} would hold {size:,} items (over {MAX_ITEMS:,})", MAX_ITEMS
        )


def _int_bits(bits: float, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateLimitError(
            "integer_size",
            f"{what} would be a number of about {int(bits):,} bits (over {MAX_INT_BITS:,})",
            MAX_INT_BITS,
        )


def _int_arg(value: Any) -> int:
    return value if isinstance(value, int) else 0


# -- operators ------------------------------------------------------------------------------


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        # the result's size in bits, known before Python starts multiplying
        _int_bits(exponent * math.log2(abs(base)), f"{_short(base)} ** {_short(exponent)}")


def _check_multiply(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        _int_bits(left.bit_length() + right.bit_length(), "a product")
        return
    if isinstance(left, int):
        left, right = right, left
    if not isinstance(right, int) or right <= 0:
        return
    if isinstance(left, (str, bytes)):
        _string_result(len(left) * right, "a repeated string")
    elif isinstance(left, (list, tuple)):
        _list_result(len(left) * right, "a repeated list")


def _check_add(left: Any, right: Any) -> None:
    if isinstance(left, (str, bytes)) and isinstance(right, (str, bytes)):
        _string_result(len(left) + len(right), "a concatenated string")
    elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        _list_result(len(left) + len(right), "a concatenated list")


# ``%(name)s``, ``%-*.*f``…: the pieces that decide how long one printf-style field is
_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?(?P<conv>.)",
    re.DOTALL,
)


def check_percent_format(template: Any, values: Any) -> None:
    """``'%0500000000d' % 1`` or ``'%(a)s' * 300000 % {'a': s}``: estimate before formatting."""
    if not isinstance(template, str):
        return
    if "%" not in template:
        return
    positional = list(values) if isinstance(values, tuple) else [values]
    mapping = values if isinstance(values, dict) else None
    total, index = len(template), 0

    def take() -> Any:
        nonlocal index
        value = positional[index] if index < len(positional) else None
        index += 1
        return value

    for match in _PERCENT.finditer(template):
        if match.group("conv") == "%":
            continue
        width = take() if match.group("width") == "*" else match.group("width")
        precision = take() if match.group("precision") == "*" else match.group("precision")
        key = match.group("key")
        value = mapping.get(key) if mapping is not None and key is not None else take()
        field = max(_int_arg(int(width) if isinstance(width, str) else width), 0)
        field = max(field, _int_arg(int(precision) if isinstance(precision, str) else precision))
        if match.group("conv") in "rsa":
            field = max(field, text_size(value, MAX_STRING + 1))
        total += field + 24  # a number's own digits, bounded by MAX_INT_BITS
        _string_result(total, "a formatted string")


def _check_modulo(left: Any, right: Any) -> None:
    check_percent_format(left, right)


_BINOP_GUARDS: dict[str, Callable[[Any, Any], None]] = {
    "**": _check_power,
    "*": _check_multiply,
    "+": _check_add,
    "%": _check_modulo,
}


# -- str.format -----------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")


class _CountingFormatter(SandboxedFormatter):
    """The sandbox's formatter, refusing a field width past the cap and counting what it makes."""

    def __init__(self, env: Any, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self._produced = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        widest = max((int(d) for d in _DIGITS.findall(format_spec)), default=0)
        _string_result(widest, "a format field")
        check_text(value)
        text = super().format_field(value, format_spec)
        self._produced += len(text)
        _string_result(self._produced, "a formatted string")
        return text


class _CountingEscapeFormatter(_CountingFormatter, EscapeFormatter):
    pass


# -- str methods and filters whose arguments decide the size of the result ------------------


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _guard_pad(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _string_result(_int_arg(_arg(args, kwargs, 0, "width", 0)), "a padded string", len(owner))


def _guard_expandtabs(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    tabsize = _int_arg(_arg(args, kwargs, 0, "tabsize", 8))
    tabs = owner.count("\t" if isinstance(owner, str) else b"\t")
    _string_result(len(owner) + tabs * tabsize, "an expanded string", len(owner))


def _replaced_size(text: Any, old: Any, new: Any, count: Any) -> int:
    if not isinstance(old, type(text)) or not isinstance(new, type(text)):
        return len(text)
    hits = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def _guard_replace(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    old, new = _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", "")
    count = _arg(args, kwargs, 2, "count", -1)
    _string_result(_replaced_size(owner, old, new, count), "a replaced string", len(owner))


def _guard_join(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    items = list(_arg(args, kwargs, 0, "iterable", ()))
    size = len(owner) * max(len(items) - 1, 0)
    for item in items:
        size += len(item) if isinstance(item, (str, bytes)) else 0
        _string_result(size, "a joined string")
    return (items,)


def _guard_translate(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    table = _arg(args, kwargs, 0, "table", None)
    if isinstance(table, dict):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        _string_result(len(owner) * longest, "a translated string", len(owner))


def _guard_to_bytes(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _string_result(_int_arg(_arg(args, kwargs, 0, "length", 1)), "a byte string")


_METHOD_GUARDS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]] = {
    "center": _guard_pad,
    "ljust": _guard_pad,
    "rjust": _guard_pad,
    "zfill": _guard_pad,
    "expandtabs": _guard_expandtabs,
    "replace": _guard_replace,
    "join": _guard_join,
    "translate": _guard_translate,
    "to_bytes": _guard_to_bytes,
}
_METHOD_OWNERS = (str, bytes, bytearray, int)


def _filter_center(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    text = stringify(value)
    _string_result(_int_arg(_arg(args, kwargs, 0, "width", 80)), "a centred string", len(text))
    return value


def _filter_indent(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    text = stringify(value)
    width = _arg(args, kwargs, 0, "width", 4)
    step = len(width) if isinstance(width, str) else _int_arg(width)
    _string_result(len(text) + (text.count("\n") + 1) * step, "an indented string", len(text))
    return value


def _filter_wordwrap(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    text = stringify(value)
    width = max(_int_arg(_arg(args, kwargs, 0, "width", 79)), 1)
    wrap = _arg(args, kwargs, 2, "wrapstring", None)
    lines = len(text) // width + text.count("\n") + 1
    extra = lines * (len(wrap) if isinstance(wrap, str) else 1)
    _string_result(len(text) + extra, "a wrapped string", len(text))
    return value


def _filter_replace(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    text = stringify(value)
    old, new = _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", "")
    count = _arg(args, kwargs, 2, "count", None)
    size = _replaced_size(text, str(old), str(new), -1 if count is None else count)
    _string_result(size, "a replaced string", len(text))
    return value


def _filter_format(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    check_percent_format(stringify(value), kwargs or args)
    return value


def _filter_join(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if _arg(args, kwargs, 1, "attribute", None) is not None:
        return value  # the result is checked once built: the attribute values exist already
    items = list(value)
    separator = stringify(_arg(args, kwargs, 0, "d", ""))
    size = len(separator) * max(len(items) - 1, 0)
    for item in items:
        size += text_size(item, MAX_STRING + 1)
        _string_result(size, "a joined string")
    return items


def _filter_batch(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    _list_result(_int_arg(_arg(args, kwargs, 0, "linecount", 1)), "a batch")
    return value


def _filter_slice(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    slices = _int_arg(_arg(args, kwargs, 0, "slices", 1))
    _list_result(slices, "a slice")
    budget = _CURRENT.get()
    if budget is not None:
        budget.charge_iterations(slices)
    return value


def _filter_sum(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    start = _arg(args, kwargs, 1, "start", 0)
    if not isinstance(start, (list, tuple)):
        return value
    # Summing lists copies the running total at every step: charge the quadratic cost.
    items = list(value)
    total = len(start) + sum(len(i) for i in items if isinstance(i, (list, tuple)))
    _list_result(total, "a summed list")
    budget = _CURRENT.get()
    if budget is not None:
        budget.charge_iterations(len(items) * total)
    return items


def _filter_tojson(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    indent = _arg(args, kwargs, 0, "indent", None)
    if isinstance(indent, int) and indent > MAX_JSON_INDENT:
        raise TemplateLimitError(
            "string_size", f"a JSON indent of {indent} (over {MAX_JSON_INDENT})", MAX_JSON_INDENT
        )
    check_text(value)
    return value


def _filter_text(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    check_text(value)
    return value


_FILTER_GUARDS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]] = {
    "center": _filter_center,
    "indent": _filter_indent,
    "wordwrap": _filter_wordwrap,
    "replace": _filter_replace,
    "format": _filter_format,
    "join": _filter_join,
    "batch": _filter_batch,
    "slice": _filter_slice,
    "sum": _filter_sum,
    "tojson": _filter_tojson,
    # filters that turn any input into text: a value sharing its items must not print huge
    **dict.fromkeys(
        (
            "capitalize",
            "e",
            "escape",
            "forceescape",
            "lower",
            "pprint",
            "safe",
            "string",
            "striptags",
            "title",
            "trim",
            "truncate",
            "upper",
            "urlencode",
            "urlize",
            "wordcount",
        ),
        _filter_text,
    ),
}

# How many times longer than its text input a filter's result can be: ``&`` escapes to ``&amp;``,
# a 3-byte character URL-encodes to 9 characters, ``<`` is ``\u003c`` in JSON, ``ﬃ`` upper-cases
# to ``FFI``. The worst case is reserved against the render's memory budget before the filter runs.
_TEXT_GROWTH = {
    **dict.fromkeys(("e", "escape", "forceescape"), 5),
    "urlencode": 12,
    **dict.fromkeys(("tojson", "pprint"), 6),
    **dict.fromkeys(("upper", "lower", "title", "capitalize"), 3),
}
# The same for ``str`` methods called from a template.
_METHOD_GROWTH = {
    **dict.fromkeys(("upper", "lower", "title", "capitalize", "swapcase", "casefold"), 3),
    "encode": 4,
}

# Filters that walk their whole input: charged one iteration per item.
_ITERATING_FILTERS = frozenset(
    {
        "batch",
        "dictsort",
        "groupby",
        "items",
        "join",
        "list",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "select",
        "selectattr",
        "slice",
        "sort",
        "sum",
        "unique",
    }
)
# Filters that hand back something the caller already had: their result is not new memory.
_SELECTING_FILTERS = frozenset({"attr", "d", "default", "first", "last", "max", "min", "random"})


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    pass_arg = _PassArg.from_obj(func)
    guard = _FILTER_GUARDS.get(name)
    growth = _TEXT_GROWTH.get(name, 0)
    iterates = name in _ITERATING_FILTERS
    charges = name not in _SELECTING_FILTERS

    # ``pass_context`` for two reasons: it gives the wrapper the context to pass on, and Jinja
    # never folds a context filter at compile time, so ``check_syntax`` cannot run it.
    @pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _CURRENT.get()
        given = value
        if budget is not None:
            if _monotonic() > budget.deadline:
                budget.expired()
            if iterates:
                value = budget.meter(value)
            elif growth and isinstance(value, str):
                budget.reserve(len(value) * growth)
        if guard is not None:
            value = guard(value, args, kwargs)
        if pass_arg is _PassArg.context:
            result = func(context, value, *args, **kwargs)
        elif pass_arg is _PassArg.eval_context:
            result = func(context.eval_ctx, value, *args, **kwargs)
        elif pass_arg is _PassArg.environment:
            result = func(context.environment, value, *args, **kwargs)
        else:
            result = func(value, *args, **kwargs)
        if budget is not None and charges and result is not given and type(result) in _CREATED:
            budget.charge_created(result)
        return result

    guarded.__name__ = guarded.__qualname__ = getattr(func, "__name__", name)
    guarded.__doc__ = func.__doc__
    return guarded


# -- globals --------------------------------------------------------------------------------


def limited_range(*args: int) -> range:
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise TemplateLimitError(
            "range", f"range of {len(items):,} items (over {MAX_RANGE:,})", MAX_RANGE
        )
    return items


def limited_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    _string_result(_int_arg(n) * _int_arg(max) * 12, "lorem ipsum text")
    return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


# -- code generation ------------------------------------------------------------------------


_ITERATE = "iterate"


def _is_metered(node: nodes.Node) -> bool:
    # The parser never produces an ``EnvironmentAttribute``, so a template cannot spell this.
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.EnvironmentAttribute)
        and node.node.name == _ITERATE
    )


class LimitedCodeGenerator(CodeGenerator):
    """Jinja's code generator with a check at each loop iteration, each output and each ``~``."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        # Jinja forbids new node types, so each loop's iterable is wrapped in a call of
        # ``environment.iterate``, which ``visit_Call`` writes out directly.
        for loop in node.find_all(nodes.For):
            if not _is_metered(loop.iter):
                loop.iter = nodes.Call(
                    nodes.EnvironmentAttribute(_ITERATE),
                    [loop.iter],
                    [],
                    None,
                    None,
                    lineno=loop.iter.lineno,
                )
        super().visit_Template(node, frame)

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        if _is_metered(node):
            self.write(f"environment.{_ITERATE}(")
            self.visit(node.args[0], frame)
            self.write(")")
            return
        super().visit_Call(node, frame, forward_caller=forward_caller)

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        # Static text in a loop or macro repeats, so it counts against the output too; at the top
        # level it runs once and is bounded by the template's own length, so it costs nothing.
        # Expressions are counted by ``finalize``.
        static = sum(len(c.data) for c in node.nodes if isinstance(c, nodes.TemplateData))
        if static and not frame.toplevel:
            self.writeline(f"environment.charge_output({static})")
        super().visit_Output(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile or frame.eval_ctx.autoescape:
            super().visit_Concat(node, frame)
            return
        self.write("environment.join_checked((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


@pass_context
def _finalize(context: Context, value: Any) -> str:
    """Each ``{{ }}`` of a text template. ``pass_context`` stops Jinja folding outputs at compile
    time, so an output's text is always counted here. (Inlined: it runs at every output.)"""
    text = value if type(value) is str else stringify(value)
    budget = _CURRENT.get()
    if budget is not None:
        budget.output += len(text)
        if budget.output > MAX_OUTPUT:
            budget.charge_output(0)
    return text


# -- the environment ------------------------------------------------------------------------


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with every render bounded in time, iterations, size and output."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    code_generator_class = LimitedCodeGenerator

    def __init__(self, **options: Any) -> None:
        options.setdefault("finalize", _finalize)
        super().__init__(**options)
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}
        self.globals["range"] = limited_range
        self.globals["lipsum"] = limited_lipsum

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _CURRENT.get()
        if budget is not None and _monotonic() > budget.deadline:
            budget.expired()
        guard = _BINOP_GUARDS.get(operator)
        if guard is not None:
            guard(left, right)
        result = self.binop_table[operator](left, right)
        if budget is not None and type(result) in _CREATED:
            budget.charge_created(result)
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _CURRENT.get()
        if budget is not None:
            if _monotonic() > budget.deadline:
                budget.expired()
            if type(obj) is LoopContext and args:  # a recursive loop's ``loop(children)``
                args = (budget.loop(args[0]), *args[1:])
        owner = obj.__self__ if isinstance(obj, types.BuiltinMethodType) else None
        guard = None
        if isinstance(owner, _METHOD_OWNERS):
            guard = _METHOD_GUARDS.get(obj.__name__)
            growth = _METHOD_GROWTH.get(obj.__name__)
            if growth and budget is not None and isinstance(owner, str):
                budget.reserve(len(owner) * growth)
        if guard is not None:
            args = guard(owner, args, kwargs) or args
        result = super().call(context, obj, *args, **kwargs)
        if budget is not None and owner is not None:
            budget.charge_created(result)
        return result

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_deadline()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's ``str.format`` sandboxing, on a formatter that counts what it produces."""
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        f_self = value.__self__
        if not isinstance(f_self, str):
            return None
        str_type = type(f_self)
        is_format_map = value.__name__ == "format_map"
        env = self

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs, args = args[0], ()
            formatter: Formatter
            if isinstance(f_self, Markup):
                formatter = _CountingEscapeFormatter(env, escape=f_self.escape)
            else:
                formatter = _CountingFormatter(env)
            return str_type(formatter.vformat(f_self, args, kwargs))

        wrapper.__name__ = value.__name__
        return wrapper

    # -- called by the generated code ----------------------------------------------------

    def iterate(self, iterable: Any) -> Any:
        budget = _CURRENT.get()
        return iterable if budget is None else budget.loop(iterable)

    def charge_output(self, size: int) -> None:
        budget = _CURRENT.get()
        if budget is not None:
            budget.output += size  # inlined: it runs at every iteration of a loop with text
            if budget.output > MAX_OUTPUT:
                budget.charge_output(0)

    def join_checked(self, parts: tuple[Any, ...]) -> str:
        budget = _CURRENT.get()
        if budget is not None:
            budget.check_deadline()
        size = 0
        for part in parts:
            size += text_size(part, MAX_STRING + 1)
            _string_result(size, "a concatenated string")
        result = "".join([p if type(p) is str else str(p) for p in parts])
        if budget is not None:
            budget.charge_created(result)
        return result


def check_value(value: Any) -> None:
    """A native result the template built (``{{ [s, s] * 9 }}``) stays printable and storable:
    the executor serialises step parameters into events and the database."""
    if isinstance(value, _CONTAINERS) and text_size(value, MAX_VALUE_TEXT) > MAX_VALUE_TEXT:
        raise TemplateLimitError(
            "value_size",
            f"the value would print more than {MAX_VALUE_TEXT >> 20} MiB",
            MAX_VALUE_TEXT,
        )


def _short(value: Any) -> str:
    text = (
        repr(value) if not isinstance(value, int) or value.bit_length() < 64 else "a large number"
    )
    return text if len(text) <= 24 else text[:21] + "..."
