"""Assertions on what Perspective renders: component state, errors on the page, table contents.

Every check polls until it holds or the timeout runs out (Perspective values arrive over the
WebSocket after the DOM), and a failure names the expected and the found value of each check.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ignition_toolbox.browser import BrowserSession
from ignition_toolbox.core import StepContext, StepFailedError, StepType

from ..locators import describe, resolve
from ..pagestate import page_state
from .schema import COMPONENT_OUTPUT, LOCATOR, TIMEOUT, output, params, step_type

_STATE_JS = """
(e, prop) => {
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const control = e.matches('button, input, select, textarea') ? e : e.querySelector('button, input, select, textarea');
  let text;
  if (e.matches('input, textarea')) text = e.value;
  else if (control && control.matches('input, textarea') && !e.querySelector('[data-component]')) text = control.value;
  else { const copy = e.cloneNode(true); copy.querySelectorAll('.ia_qualityOverlay').forEach((o) => o.remove()); text = copy.textContent; }
  const disabled = e.hasAttribute('disabled') || (control && control.disabled) ||
    Array.from(e.classList).some((c) => c.endsWith('--disabled'));
  let property = null;
  if (prop) {
    const v = prop in e ? e[prop] : e.getAttribute(prop);
    property = v === undefined ? null : (typeof v === 'object' && v !== null ? String(v) : v);
    if (property === null && control && prop in control) property = control[prop];
  }
  return {
    text: norm(text),
    visible: e.checkVisibility ? e.checkVisibility() : e.offsetParent !== null,
    enabled: !disabled,
    classes: Array.from(e.classList),
    quality_overlay: !!e.querySelector('.ia_qualityOverlay'),
    property: property,
  };
}
"""


def _text_ok(found: str, expected: str, match: str) -> bool:
    if match == "contains":
        return expected in found
    if match == "regex":
        return re.search(expected, found) is not None
    return found == re.sub(r"\s+", " ", expected).strip()


def _failures(p: dict[str, Any], seen: dict[str, Any]) -> list[str]:
    bad = []
    if "text" in p and not _text_ok(seen["text"], str(p["text"]), p.get("match", "exact")):
        bad.append(f"text {p.get('match', 'exact')} {p['text']!r}, found {seen['text']!r}")
    for key in ("enabled", "visible"):
        if key in p and seen[key] != p[key]:
            bad.append(f"{key} {p[key]}, found {seen[key]}")
    if p.get("has_class") and p["has_class"] not in seen["classes"]:
        bad.append(f"class {p['has_class']!r}, found classes {seen['classes']}")
    if p.get("not_class") and p["not_class"] in seen["classes"]:
        bad.append(f"no class {p['not_class']!r}, found it")
    if "quality_ok" in p and seen["quality_overlay"] == p["quality_ok"]:
        bad.append(
            f"{'no ' if p['quality_ok'] else ''}quality overlay, found "
            f"{'one' if seen['quality_overlay'] else 'none'}"
        )
    prop = p.get("property")
    if prop is not None:
        found = seen["property"]
        want = prop.get("value")
        if found != want and str(found) != str(want):
            bad.append(f"property {prop['name']} = {want!r}, found {found!r}")
    return bad


async def _verify(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    timeout = session.timeout_s(p)
    deadline = time.monotonic() + timeout
    component = await resolve(ctx, session.page, p["locator"], timeout)
    prop = (p.get("property") or {}).get("name")
    while True:
        try:
            seen = await component.locator.evaluate(_STATE_JS, prop, timeout=1000)
        except Exception:
            # Re-rendered under us: find it again.
            component = await resolve(
                ctx, session.page, p["locator"], max(0.1, deadline - time.monotonic())
            )
            continue
        bad = _failures(p, {**seen, "property": seen["property"]})
        if not bad:
            return {
                **component.summary(),
                **{
                    k: seen[k] for k in ("text", "visible", "enabled", "classes", "quality_overlay")
                },
                "property": seen["property"],
            }
        if time.monotonic() >= deadline:
            raise StepFailedError(
                f"component {describe(p['locator'])} (path {component.path}) did not match "
                f"within {timeout:g} s: expected " + "; expected ".join(bad),
                {"locator": p["locator"], **component.summary(), "found": seen},
            )
        await ctx.sleep(0.1)


_ERRORS_JS = """
(within) => {
  const root = within ? document.querySelector(within) : document;
  if (!root) return null;
  const vis = (e) => e.checkVisibility ? e.checkVisibility() : e.offsetParent !== null;
  const where = (e) => { const c = e.closest('[data-component-path]');
    return c ? c.getAttribute('data-component-path') : null; };
  const list = (sel) => Array.from(root.querySelectorAll(sel)).filter(vis).map((e) => ({
    path: where(e), text: (e.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 200)}));
  return {
    error_boundaries: list('div.cqfo-error, .component-error-boundary, .error-pie, .ia-xy-error, component-error-boundary'),
    quality_overlays: list('.ia_qualityOverlay'),
  };
}
"""


async def _verify_no_errors(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    page = session.page
    state = page_state(session)
    within = None
    if p.get("within"):
        component = await resolve(ctx, page, p["within"], session.timeout_s(p))
        within = f'[data-component-path="{component.path}"]' if component.path else None
    found = await page.evaluate(_ERRORS_JS, within) or {}
    boundaries = found.get("error_boundaries", [])
    overlays = found.get("quality_overlays", []) if p.get("quality", True) else []
    console = list(state.console_errors) if p.get("console_errors", False) else []
    problems = []
    if boundaries:
        problems.append(
            f"{len(boundaries)} error boundar{'y' if len(boundaries) == 1 else 'ies'} at "
            + ", ".join(f"{b['path']} ({b['text']})" for b in boundaries[:5])
        )
    if overlays:
        problems.append(
            f"{len(overlays)} bad-quality overlay(s) at "
            + ", ".join(f"{o['path']} ({o['text']})" for o in overlays[:5])
        )
    if console:
        problems.append(f"{len(console)} console error(s): " + " | ".join(console[:3]))
    result = {
        "error_boundaries": boundaries,
        "quality_overlays": overlays,
        "console_errors": console,
    }
    if problems:
        raise StepFailedError("the Perspective page shows errors: " + "; ".join(problems), result)
    return result


_TABLE_JS = """
(e) => {
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const headers = Array.from(e.querySelectorAll('.ia_table__head__header')).map((h) =>
    h.getAttribute('data-column-id') || norm(h.textContent));
  const rows = Array.from(e.querySelectorAll('.ia_table__body__row')).map((r) =>
    Array.from(r.querySelectorAll('.ia_table__body__cell, div.tc')).filter((c, i, all) =>
      !all.some((o) => o !== c && o.contains(c))).map((c) => ({
        column: c.getAttribute('data-column-id'), text: norm(c.textContent)})));
  return {headers: headers, rows: rows};
}
"""


def _cell(table: dict[str, Any], row: int, column: str | int) -> str | None:
    rows = table["rows"]
    if row >= len(rows):
        return None
    cells = rows[row]
    if isinstance(column, int):
        return cells[column]["text"] if column < len(cells) else None
    for cell in cells:
        if cell["column"] == column:
            return str(cell["text"])
    if column in table["headers"]:
        index = table["headers"].index(column)
        return cells[index]["text"] if index < len(cells) else None
    return None


async def _table(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    timeout = session.timeout_s(p)
    deadline = time.monotonic() + timeout
    component = await resolve(ctx, session.page, p["locator"], timeout)
    while True:
        table = await component.locator.evaluate(_TABLE_JS)
        bad = []
        count = len(table["rows"])
        if "rows" in p and count != p["rows"]:
            bad.append(f"{p['rows']} row(s), found {count}")
        if "rows" not in p and "min_rows" in p and count < p["min_rows"]:
            bad.append(f"at least {p['min_rows']} row(s), found {count}")
        for check in p.get("cells", []):
            found = _cell(table, check["row"], check["column"])
            if found is None or not _text_ok(
                found, str(check["text"]), check.get("match", "exact")
            ):
                bad.append(
                    f"cell [{check['row']}][{check['column']}] {check.get('match', 'exact')} "
                    f"{check['text']!r}, found {found!r}"
                )
        if not bad:
            return {
                **component.summary(),
                "row_count": count,
                "columns": table["headers"],
                "rows": [[c["text"] for c in r] for r in table["rows"][:200]],
            }
        if time.monotonic() >= deadline:
            raise StepFailedError(
                f"table {describe(p['locator'])} did not match within {timeout:g} s: expected "
                + "; expected ".join(bad),
                {"locator": p["locator"], "row_count": count, "columns": table["headers"]},
            )
        await ctx.sleep(0.1)


MATCH = {"enum": ["exact", "contains", "regex"], "default": "exact"}

STEP_TYPES: list[StepType] = [
    step_type(
        "verify",
        "Check a component's text, enabled/visible state, classes or a rendered property",
        _verify,
        params(
            ["locator"],
            locator=LOCATOR,
            text={"type": ["string", "number", "boolean"]},
            match=MATCH,
            enabled={"type": "boolean"},
            visible={"type": "boolean"},
            has_class={"type": "string", "minLength": 1},
            not_class={"type": "string", "minLength": 1},
            quality_ok={
                "type": "boolean",
                "description": "true: no .ia_qualityOverlay inside; false: one is shown",
            },
            property={
                "type": "object",
                "required": ["name", "value"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string", "minLength": 1}, "value": {}},
                "description": "A DOM property or attribute as rendered, e.g. value, title",
            },
            timeout=TIMEOUT,
        ),
        output(
            **COMPONENT_OUTPUT,
            text={"type": "string"},
            visible={"type": "boolean"},
            enabled={"type": "boolean"},
            classes={"type": "array", "items": {"type": "string"}},
            quality_overlay={"type": "boolean"},
            property={},
        ),
        description="Text is whitespace-normalised; a field's text is its value; quality overlays "
        "are not part of a label's text.",
    ),
    step_type(
        "verify_no_errors",
        "Check the page has no error boundaries or bad-quality overlays (and no console errors)",
        _verify_no_errors,
        params(
            [],
            within={**LOCATOR, "description": "Only look inside this component"},
            quality={
                "type": "boolean",
                "default": True,
                "description": "Count .ia_qualityOverlay as an error",
            },
            console_errors={
                "type": "boolean",
                "default": False,
                "description": "Also fail on console errors since perspective.open",
            },
            timeout=TIMEOUT,
        ),
        output(
            error_boundaries={"type": "array"},
            quality_overlays={"type": "array"},
            console_errors={"type": "array", "items": {"type": "string"}},
        ),
    ),
    step_type(
        "table",
        "Check a table's row count and cell texts",
        _table,
        params(
            ["locator"],
            locator=LOCATOR,
            rows={"type": "integer", "minimum": 0},
            min_rows={"type": "integer", "minimum": 0},
            cells={
                "type": "array",
                "maxItems": 500,
                "items": {
                    "type": "object",
                    "required": ["row", "column", "text"],
                    "additionalProperties": False,
                    "properties": {
                        "row": {"type": "integer", "minimum": 0},
                        "column": {
                            "type": ["string", "integer"],
                            "description": "data-column-id, header text or index",
                        },
                        "text": {"type": ["string", "number"]},
                        "match": MATCH,
                    },
                },
            },
            timeout=TIMEOUT,
        ),
        output(
            **COMPONENT_OUTPUT,
            row_count={"type": "integer"},
            columns={"type": "array", "items": {"type": "string"}},
            rows={"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        ),
        description="Waits for body rows (.ia_table__body__row): headers render before data.",
    ),
]
