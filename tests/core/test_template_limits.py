"""SR-22: a render costs bounded CPU and memory, and compile-time folding cannot get around it.

Each hostile template must fail with ``TemplateError`` (``validation_error``) naming the template and
the cap, in well under a second; ordinary templates keep their results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ignition_toolbox.core import template_limits as limits
from ignition_toolbox.core.templating import (
    TemplateError,
    check_condition,
    check_syntax,
    evaluate_condition,
    render,
    render_string,
)

pytestmark = pytest.mark.timeout(60)

CONTEXT: dict[str, Any] = {
    "parameter": {"n": 3, "items": [1, 2, 3], "name": "gw", "big": "x" * 2_000_000},
    "step": {},
    "variable": {},
    "credential": {},
}


TEXT = "abcdefghij" * 100  # static text a loop repeats


@pytest.fixture
def long_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a test of another cap: on a loaded machine the deadline could trip first."""
    monkeypatch.setattr(limits, "DEADLINE_SECONDS", 30.0)


@contextmanager
def quick(seconds: float = 1.0) -> Iterator[None]:
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s"


def refused(template: str, limit: str, context: dict[str, Any] | None = None) -> TemplateError:
    with quick(), pytest.raises(TemplateError) as caught:
        render_string(template, CONTEXT if context is None else context)
    error = caught.value
    assert error.code == "validation_error"
    assert error.details["limit"] == limit, error.message
    assert limit.replace("_", " ") in error.message
    assert template[:20] in error.message  # the message names the template
    return error


# -- each cap ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ (7 ** 20000000) % 10 }}",
        "x {{ (7 ** 20000000) % 10 }} y",
        "{{ 2 ** 70000 }}",
        "{{ (parameter.n ** 100000) % 10 }}",
        "{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}",
    ],
)
@pytest.mark.usefixtures("long_deadline")
def test_integer_powers_and_products_are_capped(template: str) -> None:
    refused(template, "integer_size")


def test_a_modest_power_still_works() -> None:
    assert render_string("{{ (7 ** 2000) % 10 }}", CONTEXT) == pow(7, 2000, 10)
    assert render_string("{{ 2 ** 0.5 }}", CONTEXT) == 2**0.5


@pytest.mark.parametrize(
    ("template", "limit"),
    [
        ("{{ 'a' * 500000000 }}", "string_size"),
        ("x {{ 'a' * 500000000 }}", "string_size"),
        ("{{ [0] * 500000000 }}", "list_size"),
        ("{{ (1, 2) * 600000 }}", "list_size"),
        ("{{ '%0500000000d' % 1 }}", "string_size"),
        ("{{ '%s' | format('a' * 1000000) | center(500000000) }}", "string_size"),
        ("{{ 'a'.ljust(500000000) }}", "string_size"),
        ("{{ 'a'.center(500000000) }}", "string_size"),
        ("{{ '{:>500000000}'.format(1) }}", "string_size"),
        ("{{ 'a' | center(500000000) }}", "string_size"),
        ("{{ 'a' | indent(500000000, true) }}", "string_size"),
        ("{{ [1] | batch(500000000, 0) | list }}", "list_size"),
        ("{{ (1).to_bytes(500000000, 'big') }}", "string_size"),
        ("{{ lipsum(100000, false, 100, 100) }}", "string_size"),
    ],
)
@pytest.mark.usefixtures("long_deadline")
def test_repetition_padding_and_formatting_are_capped(template: str, limit: str) -> None:
    refused(template, limit)


@pytest.mark.parametrize(
    "template",
    [
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
        "{% set ns = namespace(s=[1]) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = [ns.s, ns.s] | join %}{% endfor %}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = '%s%s' % (ns.s, ns.s) %}{% endfor %}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = '{}{}'.format(ns.s, ns.s) %}{% endfor %}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s | replace('a', 'aa') %}{% endfor %}",
    ],
)
@pytest.mark.usefixtures("long_deadline")
def test_concatenation_growing_in_a_loop_is_capped(template: str) -> None:
    refused(template, "string_size" if "[1]" not in template else "list_size")


@pytest.mark.usefixtures("long_deadline")
def test_shared_references_cannot_multiply_into_huge_text() -> None:
    """``[s, s]`` nested forty deep is tiny in memory and 2⁴⁰ times ``s`` as text."""
    nest = "{% set ns = namespace(v='abcd') %}{% for i in range(40) %}{% set ns.v = [ns.v, ns.v] %}{% endfor %}"
    refused(nest + "{{ ns.v }}", "string_size")
    refused(nest + "{{ ns.v | tojson }}", "string_size")
    refused(nest + "{{ '' ~ ns.v }}", "string_size")
    refused(nest + "{{ ns.v | string }}", "string_size")
    refused("x {{ [[parameter.items] * 1000] * 1000 }}", "string_size")
    refused("{{ [[parameter.items] * 1000] * 1000 }}", "value_size")  # handed over whole


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(300000000) %}{{ i }}{% endfor %}",
        "{{ range(300000000) | list | length }}",
        "{{ range(100001) | list | length }}",
    ],
)
@pytest.mark.usefixtures("long_deadline")
def test_range_is_capped(template: str) -> None:
    refused(template, "range")


def test_a_range_within_the_cap_still_works() -> None:
    assert render_string("{{ range(100000) | list | length }}", CONTEXT) == 100000


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(100000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{{ range(100000) | sum }}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) if j < 0 %}{% endfor %}{% endfor %}",
        "{{ range(100000) | map('string') | map('string') | map('string') | map('string') | map('string') | map('string') | map('string') | map('string') | map('string') | map('string') | map('string') | list | length }}",
    ],
)
def test_nested_loops_and_iterating_filters_stop_fast(template: str) -> None:
    """Whichever comes first, the iteration budget or the deadline, stops them."""
    with quick(), pytest.raises(TemplateError) as caught:
        render_string(template, CONTEXT)
    assert caught.value.details["limit"] in {"iterations", "deadline"}


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(100000) %}{{ range(100000) | sum }}{% endfor %}",
        "{% for i in range(100) %}{{ range(100000) | list | length }}{% endfor %}",
        # a loop and two filters per iteration, all drawing on the same budget
        "{% for i in range(4) %}{% for j in range(100000) %}{% endfor %}"
        "{{ range(100000) | sum }}{{ range(100000) | sum }}{% endfor %}",
    ],
)
@pytest.mark.usefixtures("long_deadline")
def test_the_iteration_budget_counts_across_nested_loops_and_filters(template: str) -> None:
    refused(template, "iterations")


def test_loops_keep_their_loop_variable() -> None:
    text = "{% for x in parameter.items %}{{ loop.index }}/{{ loop.length }}{% if not loop.last %},{% endif %}{% endfor %}"
    assert render_string(text, CONTEXT) == "1/3,2/3,3/3"
    tree = {"children": [{"name": "a", "children": [{"name": "b", "children": []}]}]}
    recursive = (
        "{% for n in t.children recursive %}{{ n.name }}[{{ loop(n.children) }}]{% endfor %}"
    )
    assert render_string(recursive, {"t": tree}) == "a[b[]]"


@pytest.mark.parametrize(
    "template",
    [
        f"{{% for i in range(100000) %}}{{{{ '{TEXT}' }}}}{{% endfor %}}",
        f"{{% for i in range(100000) %}}{TEXT}{{% endfor %}}",
        "{% for i in range(20) %}{{ parameter.big }}{% endfor %}",
        f"{{% set x %}}{{% for i in range(100000) %}}{TEXT}{{% endfor %}}{{% endset %}}",
        "x {{ parameter.big }}",
    ],
)
@pytest.mark.usefixtures("long_deadline")
def test_total_output_is_capped(template: str) -> None:
    refused(template, "output_size")


def test_a_big_value_passed_through_whole_is_not_output() -> None:
    """``{{ ref }}`` alone hands over the value itself: nothing is rendered."""
    assert render_string("{{ parameter.big }}", CONTEXT) is CONTEXT["parameter"]["big"]


@pytest.mark.parametrize(
    "template",
    [
        # each iteration scans 2 MB with no operator or call in it: only the per-iteration
        # check sees the time pass
        "{% for i in range(100000) %}{% if 'y' in parameter.big %}{% endif %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    ],
)
def test_the_wall_clock_deadline_stops_a_slow_render(template: str) -> None:
    refused(template, "deadline")


@pytest.mark.parametrize(
    "template",
    [
        "{{ parameter.n if true else 0 }}",  # attribute access
        "{{ parameter['n'] if true else 0 }}",  # item access
        "{{ 1 + 1 }}",  # an operator
        "{{ 'a'.upper() }}",  # a call
        "{{ 'a' | upper }}",  # a filter
        "{% for x in [1] %}{% endfor %}",  # a loop iteration
    ],
)
def test_the_deadline_is_checked_at_each_interception_point(
    template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "DEADLINE_SECONDS", -1.0)
    monkeypatch.setattr(limits, "DEADLINE_CPU_SECONDS", 0.0)  # fail at the first check
    refused(template, "deadline")


class Paused:
    """A value whose attribute blocks without using CPU, as a GC pause or a descheduled process
    looks to the render."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    @property
    def value(self) -> str:
        time.sleep(self.seconds)
        return "v"


def test_a_render_paused_past_the_deadline_is_not_failed() -> None:
    """Paused three times over (a loaded machine descheduling it), a render using no CPU of
    its own still completes."""
    context = {**CONTEXT, "obj": Paused(limits.DEADLINE_SECONDS * 2)}
    template = "x {{ obj.value }} {{ obj.value }} {{ obj.value }} {% for i in parameter.items %}{{ i }}{% endfor %}"
    assert render_string(template, context) == "x v v v 123"


def test_a_paused_render_that_then_runs_away_still_fails_fast() -> None:
    context = {**CONTEXT, "obj": Paused(limits.DEADLINE_SECONDS * 2)}
    template = "{{ obj.value }}{% for i in range(100000) %}{% if 'y' in parameter.big %}{% endif %}{% endfor %}"
    with quick(), pytest.raises(TemplateError) as caught:
        render_string(template, context)
    assert caught.value.details["limit"] == "deadline"


def test_a_render_stalled_past_the_hard_deadline_fails() -> None:
    context = {**CONTEXT, "obj": Paused(limits.DEADLINE_HARD_SECONDS + 0.05)}
    with quick(2.0), pytest.raises(TemplateError) as caught:
        render_string("x {{ obj.value | upper }} {{ obj.value | upper }}", context)
    assert caught.value.details["limit"] == "deadline"


def test_one_render_call_shares_its_budget_across_parameters() -> None:
    loop = "{% for i in range(100000) %}{% for j in range(4) %}{% endfor %}{% endfor %}"
    with quick(), pytest.raises(TemplateError) as caught:
        render({"a": loop, "b": [loop, loop]}, CONTEXT)
    assert caught.value.details["limit"] in {"iterations", "deadline"}


@pytest.mark.usefixtures("long_deadline")
def test_memory_created_by_a_render_is_capped() -> None:
    refused("{{ range(1000) | map('string') | map('center', 1000000) | list | length }}", "memory")
    refused("{% for i in range(1000) %}{% set s = 'x' * 900000 %}{% endfor %}", "memory")


@pytest.mark.parametrize(
    "step",
    ["ns.s | forceescape", "ns.s | urlencode", "ns.s | tojson", "ns.s.upper()", "ns.s | upper"],
)
@pytest.mark.usefixtures("long_deadline")
def test_text_growing_geometrically_in_a_loop_never_overshoots_the_memory_cap(step: str) -> None:
    """The worst case of each step is reserved before it runs, so memory stays bounded."""
    import tracemalloc

    seed = '&%\\"<ß' * 8
    template = (
        f"{{% set ns = namespace(s='{seed}') %}}{{% for i in range(60) %}}"
        f"{{% set ns.s = {step} %}}{{% set ns.s = ns.s ~ ns.s %}}{{% endfor %}}"
    )
    tracemalloc.start()
    try:
        with quick(), pytest.raises(TemplateError) as caught:
            render_string(template, CONTEXT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.details["limit"] in {"memory", "string_size"}
    assert peak < 4 * limits.MAX_CREATED_BYTES, f"peak {peak >> 20} MiB"


# -- constant folding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ (7 ** 20000000) % 10 }}",
        "x {{ (7 ** 20000000) % 10 }} y",
        "{{ 'a' * 500000000 }}",
        "x {{ 'a' * 500000000 }} y",
        "{{ 'a' | center(500000000) }}",
        "x {{ 'a' | center(500000000) }}",
        "x {{ '%0500000000d' | format(1) }}",
        "x {{ [1] | batch(500000000, 0) | list }}",
        "{% for i in range(300000000) %}x{% endfor %}",
        "x {{ ('a' ~ 'b') * 300000000 }}",
        "x {{ lipsum(100000, false, 100, 100) }}",
    ],
)
def test_compiling_never_evaluates_the_expensive_parts(template: str) -> None:
    with quick(0.1):
        check_syntax(template)


def test_conditions_are_bounded_too() -> None:
    with quick(0.1):
        check_condition("(7 ** 20000000) % 10 == 1")
    with quick(), pytest.raises(TemplateError) as caught:
        evaluate_condition("(7 ** 20000000) % 10 == 1", CONTEXT)
    assert caught.value.details["limit"] == "integer_size"
    assert "7 ** 20000000" in caught.value.message


# -- the step fails with the code and is not retried -----------------------------------------


async def test_a_step_past_a_cap_fails_with_validation_error_and_is_not_retried(
    make_execution: Callable[..., Any],
) -> None:
    ex = make_execution(
        "name: p\nsteps:\n"
        "  - id: a\n    type: utility.log\n    retry: {count: 3, delay: 0}\n"
        "    parameters: {message: \"{{ 'a' * 500000000 }}\"}\n"
    )
    started = time.perf_counter()
    assert await ex.run() == "failed"
    assert time.perf_counter() - started < 1
    result = ex.step_results[0]
    assert result.error["code"] == "validation_error"
    assert result.error["details"]["limit"] == "string_size"
    assert result.attempts == 1


# -- ordinary templates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ parameter.n * 2 }}", 6),
        ("{{ parameter.name ~ '-' ~ parameter.n }}", "gw-3"),
        ("{{ parameter.items | map('string') | join(',') }}", "1,2,3"),
        ("{{ parameter.items | sum }}", 6),
        ("{{ [[1], [2]] | sum(start=[]) }}", [1, 2]),
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ [1, 2] + [3] }}", [1, 2, 3]),
        ("{{ '%s-%03d' % ('a', 7) }}", "a-007"),
        ("{{ '{}:{:>4}'.format('a', 'b') }}", "a:   b"),
        ("{{ 'a' | center(5) }}", "  a  "),
        ("{{ {'b': 1, 'a': 2} | dictsort | first }}", ("a", 2)),
        ("{{ {'a': 1} | items | list }}", [("a", 1)]),
        ("{{ parameter.items | batch(2) | list }}", [[1, 2], [3]]),
        ("{{ parameter.items | reverse | list }}", [3, 2, 1]),
        ("{{ 10 // 3 }}-{{ 10 % 3 }}-{{ 1 - 2 }}-{{ 3 / 2 }}", "3-1--1-1.5"),
        ("{% for k, v in {'a': 1} | dictsort %}{{ k }}={{ v }}{% else %}none{% endfor %}", "a=1"),
        ("{% for x in [] %}x{% else %}none{% endfor %}", "none"),
        ("{{ parameter.items | tojson }}", "[1, 2, 3]"),
    ],
)
def test_ordinary_templates_keep_their_results(template: str, expected: object) -> None:
    assert render_string(template, CONTEXT) == expected


def test_a_lazy_result_still_works_after_its_render() -> None:
    value = render_string("{{ parameter.items | map('string') }}", CONTEXT)
    time.sleep(limits.DEADLINE_SECONDS * 2)
    assert list(value) == ["1", "2", "3"]
