"""Finding one Perspective component from a locator object, and saying what was tried when none fits.

IGNITION.md §3e orders stable selectors: ``#domId``, then ``data-component-path`` (positional, so
only stable within one build of a view), then ``data-component`` plus text, then a raw selector. A
locator may give several; they are tried in that order and the first that matches wins. The lookup
runs in the page (arguments passed with ``page.evaluate(fn, arg)``, never formatted into script text,
the defect R7 had) and marks the chosen element so Playwright can act on it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ignition_toolbox.core import StepFailedError, StepTimeoutError

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

    from ignition_toolbox.core import StepContext

MARK = "data-itk-target"
STRATEGIES = ("dom_id", "path", "path_prefix", "type_text", "selector")

LOCATOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "description": (
        "A Perspective component: dom_id (meta.domId), path (data-component-path, exact), "
        "path_prefix, type (data-component) with optional text, or a raw selector. "
        "Several may be given; they are tried in that order."
    ),
    "properties": {
        "dom_id": {"type": "string", "minLength": 1, "maxLength": 500},
        "path": {"type": "string", "minLength": 1, "maxLength": 1000},
        "path_prefix": {"type": "string", "minLength": 1, "maxLength": 1000},
        "type": {"type": "string", "minLength": 1, "maxLength": 200},
        "text": {"type": "string", "maxLength": 2000},
        "text_match": {"enum": ["exact", "contains", "regex"], "default": "exact"},
        "selector": {"type": "string", "minLength": 1, "maxLength": 2000},
        "index": {
            "type": "integer",
            "minimum": 0,
            "description": "Which match to take when the locator matches several components",
        },
    },
}

# Runs in the page. Returns what each strategy found and marks the chosen component.
_RESOLVE_JS = """
([spec, mark, nonce]) => {
  const all = [];
  const visit = (root) => root.querySelectorAll('*').forEach((e) => {
    if (e.hasAttribute('data-component')) all.push(e);
    if (e.shadowRoot) visit(e.shadowRoot);
  });
  visit(document);
  document.querySelectorAll('[' + mark + ']').forEach((e) => e.removeAttribute(mark));
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const textOf = (e) => {
    if (e.matches('input, textarea')) return norm(e.value);
    const inner = e.querySelector('input, textarea');
    if (inner && !e.querySelector('[data-component]')) return norm(inner.value);
    const copy = e.cloneNode(true);
    copy.querySelectorAll('.ia_qualityOverlay').forEach((o) => o.remove());
    return norm(copy.textContent);
  };
  const textOk = (e) => {
    if (spec.text === undefined || spec.text === null) return true;
    const t = textOf(e), want = spec.text_match === 'regex' ? spec.text : norm(spec.text);
    if (spec.text_match === 'contains') return t.includes(want);
    if (spec.text_match === 'regex') return new RegExp(want).test(t);
    return t === want;
  };
  const deepest = (list) => list.filter((e) => !list.some((o) => o !== e && e.contains(o)));
  const tried = [];
  const strategies = [];
  if (spec.dom_id) strategies.push(['dom_id', 'dom_id ' + JSON.stringify(spec.dom_id),
    () => all.filter((e) => e.id === spec.dom_id), false]);
  if (spec.path) strategies.push(['path', 'path ' + JSON.stringify(spec.path),
    () => all.filter((e) => e.getAttribute('data-component-path') === spec.path), false]);
  if (spec.path_prefix) strategies.push(['path_prefix', 'path prefix ' + JSON.stringify(spec.path_prefix),
    () => all.filter((e) => (e.getAttribute('data-component-path') || '').startsWith(spec.path_prefix)), true]);
  if (spec.type || (spec.text !== undefined && spec.text !== null)) {
    const label = [spec.type ? 'type ' + JSON.stringify(spec.type) : 'any type',
      spec.text !== undefined && spec.text !== null ? (spec.text_match || 'exact') + ' text ' + JSON.stringify(spec.text) : null]
      .filter(Boolean).join(' + ');
    strategies.push(['type_text', label, () => deepest(all.filter((e) =>
      (!spec.type || e.getAttribute('data-component') === spec.type) && textOk(e))), false]);
  }
  for (const [name, label, find, firstWins] of strategies) {
    let found;
    try { found = find(); } catch (err) { tried.push({strategy: name, description: label, count: 0, error: String(err)}); continue; }
    tried.push({strategy: name, description: label, count: found.length,
                paths: found.slice(0, 10).map((e) => e.getAttribute('data-component-path'))});
    if (!found.length) continue;
    let chosen;
    if (spec.index !== undefined && spec.index !== null) chosen = found[spec.index];
    else if (found.length === 1 || firstWins) chosen = found[0];
    else return {found: false, ambiguous: true, tried: tried};
    if (!chosen) return {found: false, outOfRange: true, tried: tried};
    chosen.setAttribute(mark, nonce);
    return {found: true, strategy: name, description: label, tried: tried,
            path: chosen.getAttribute('data-component-path'), type: chosen.getAttribute('data-component'),
            domId: chosen.id || null};
  }
  const types = {};
  all.forEach((e) => { const t = e.getAttribute('data-component'); types[t] = (types[t] || 0) + 1; });
  return {found: false, tried: tried, total: all.length, types: types};
}
"""


@dataclass
class Component:
    """A resolved component: a Playwright locator plus what identifies it."""

    locator: Locator
    strategy: str
    description: str
    path: str | None
    type: str | None
    dom_id: str | None

    def summary(self) -> dict[str, Any]:
        return {"path": self.path, "type": self.type, "dom_id": self.dom_id}


def describe(spec: dict[str, Any]) -> str:
    """A locator as an operator reads it, for step messages."""
    parts = []
    for key in ("dom_id", "path", "path_prefix", "type", "text", "selector"):
        if spec.get(key) is not None:
            parts.append(f"{key}={spec[key]!r}")
    if spec.get("index") is not None:
        parts.append(f"index={spec['index']}")
    return "{" + ", ".join(parts) + "}"


def _tried_text(tried: list[dict[str, Any]]) -> str:
    return "; ".join(f"{t['description']}: {t['count']} match(es)" for t in tried) or "nothing"


async def _try_selector(page: Page, spec: dict[str, Any]) -> tuple[int, Locator]:
    locator = page.locator(spec["selector"])
    return await locator.count(), locator


async def find_once(page: Page, spec: dict[str, Any]) -> tuple[Component | None, dict[str, Any]]:
    """One attempt: the component, or ``None`` with the report of what each strategy found."""
    nonce = secrets.token_hex(6)
    report: dict[str, Any] = {"tried": []}
    js_spec = {k: v for k, v in spec.items() if k != "selector"}
    if set(js_spec) - {"text_match", "index"}:
        report = await page.evaluate(_RESOLVE_JS, [js_spec, MARK, nonce])
        if report.get("found"):
            return Component(
                page.locator(f'[{MARK}="{nonce}"]'),
                report["strategy"],
                report["description"],
                report.get("path"),
                report.get("type"),
                report.get("domId"),
            ), report
        if report.get("ambiguous") or report.get("outOfRange"):
            return None, report
    if spec.get("selector"):
        count, locator = await _try_selector(page, spec)
        label = f"selector {spec['selector']!r}"
        report.setdefault("tried", []).append(
            {"strategy": "selector", "description": label, "count": count}
        )
        if count:
            index = spec.get("index")
            if index is None and count > 1:
                report["ambiguous"] = True
                return None, report
            if index is not None and index >= count:
                report["outOfRange"] = True
                return None, report
            chosen = locator.nth(index or 0)
            info = await chosen.evaluate(
                "e => { const c = e.closest('[data-component]') || e;"
                " return [c.getAttribute('data-component-path'),"
                " c.getAttribute('data-component'), c.id || null]; }"
            )
            return Component(chosen, "selector", label, info[0], info[1], info[2]), report
    return None, report


def not_found_error(spec: dict[str, Any], report: dict[str, Any], waited: float) -> Exception:
    tried = report.get("tried", [])
    where = describe(spec)
    if report.get("ambiguous"):
        hit = next((t for t in tried if t["count"] > 1), {"count": "several", "paths": []})
        return StepFailedError(
            f"locator {where} matches {hit['count']} components "
            f"(paths {', '.join(str(p) for p in hit.get('paths') or [])}); "
            "give index or a more specific locator",
            {"locator": spec, "tried": tried},
            code="validation_error",
        )
    if report.get("outOfRange"):
        return StepFailedError(
            f"locator {where}: index {spec.get('index')} is out of range ({_tried_text(tried)})",
            {"locator": spec, "tried": tried},
            code="validation_error",
        )
    types = report.get("types") or {}
    seen = ", ".join(f"{t} x{n}" for t, n in sorted(types.items())[:12]) or "none"
    return StepTimeoutError(
        f"no Perspective component matched {where} within {waited:g} s; tried {_tried_text(tried)}; "
        f"components on the page: {report.get('total', 0)} ({seen})",
        {"locator": spec, "tried": tried, "timeout": waited},
    )


async def resolve(ctx: StepContext, page: Page, spec: dict[str, Any], timeout: float) -> Component:
    """Poll until the locator matches exactly one component (or its ``index``), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            component, report = await find_once(page, spec)
        except Exception as exc:  # the page navigated mid-lookup: try again
            if "Execution context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
            component, report = None, {"tried": []}
        if component is not None:
            return component
        if report.get("ambiguous") or report.get("outOfRange") or time.monotonic() >= deadline:
            raise not_found_error(spec, report, timeout)
        await ctx.sleep(0.1)


__all__ = ["LOCATOR_SCHEMA", "MARK", "STRATEGIES", "Component", "describe", "find_once", "resolve"]
