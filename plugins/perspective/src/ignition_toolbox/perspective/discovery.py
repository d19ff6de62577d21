"""Component inventory (IGNITION.md §3e "Discovery"): every ``[data-component]`` on the page.

Keyed on the real hooks — ``data-component`` (type), ``data-component-path``, ``id`` (meta.domId) —
not on the reference's invented ``data-component-id`` or ``ia_toggle`` (R8). Open shadow roots are
walked too. The filter arguments travel as data into ``page.evaluate``, never as script text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page

COMPONENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "path": {"type": ["string", "null"]},
        "domId": {"type": ["string", "null"]},
        "text": {"type": "string"},
        "visible": {"type": "boolean"},
        "enabled": {"type": "boolean"},
        "bbox": {
            "type": ["object", "null"],
            "properties": {
                "x": {"type": "number"},
                "y": {"type": "number"},
                "width": {"type": "number"},
                "height": {"type": "number"},
            },
        },
        "region": {"type": "string"},
        "classes": {"type": "array", "items": {"type": "string"}},
    },
}

_DISCOVER_JS = """
(arg) => {
  const all = [];
  const visit = (root) => root.querySelectorAll('*').forEach((e) => {
    if (e.hasAttribute('data-component')) all.push(e);
    if (e.shadowRoot) visit(e.shadowRoot);
  });
  visit(document);
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const out = [];
  for (const e of all) {
    const type = e.getAttribute('data-component');
    const path = e.getAttribute('data-component-path');
    const region = path ? (path.match(/^[A-Z]+/) || [''])[0] : '';
    if (arg.regions && arg.regions.length && !arg.regions.includes(region)) continue;
    if (arg.types && arg.types.length && !arg.types.includes(type)) continue;
    const visible = e.checkVisibility ? e.checkVisibility() : e.offsetParent !== null;
    if (!visible && !arg.includeHidden) continue;
    const control = e.matches('button, input, select, textarea') ? e : e.querySelector('button, input, select, textarea');
    const disabled = e.hasAttribute('disabled') || (control && control.disabled) ||
      Array.from(e.classList).some((c) => c.endsWith('--disabled'));
    let text;
    if (e.matches('input, textarea')) text = e.value;
    else if (control && control.matches('input, textarea') && !e.querySelector('[data-component]')) text = control.value;
    else { const copy = e.cloneNode(true); copy.querySelectorAll('.ia_qualityOverlay').forEach((o) => o.remove()); text = copy.textContent; }
    const r = e.getBoundingClientRect();
    out.push({
      type: type, path: path, domId: e.id || null, text: norm(text).slice(0, arg.maxText),
      visible: visible, enabled: !disabled,
      bbox: visible ? {x: Math.round(r.x), y: Math.round(r.y), width: Math.round(r.width), height: Math.round(r.height)} : null,
      region: region, classes: Array.from(e.classList).filter((c) => c.startsWith('ia_')),
    });
    if (out.length >= arg.max) break;
  }
  return {components: out, total: all.length};
}
"""


async def discover(
    page: Page,
    *,
    regions: list[str] | None = None,
    types: list[str] | None = None,
    include_hidden: bool = True,
    max_components: int = 2000,
    max_text: int = 200,
) -> dict[str, Any]:
    """The inventory: ``{components: [...], total}`` (``total`` counts before filtering)."""
    result: dict[str, Any] = await page.evaluate(
        _DISCOVER_JS,
        {
            "regions": regions or [],
            "types": types or [],
            "includeHidden": include_hidden,
            "max": max_components,
            "maxText": max_text,
        },
    )
    return result


__all__ = ["COMPONENT_SCHEMA", "discover"]
