"""Masking secrets in every image a viewer can see or keep (SR-12).

Two mechanisms, because a screencast cannot use Playwright's ``mask`` option:

* stored screenshots use Playwright's ``mask`` with the mask colour, over the masked locators;
* the live view relies on an overlay kept in each document: a closed shadow root holding one
  opaque box per masked element, repositioned in a ``requestAnimationFrame`` callback. Those
  callbacks run after layout changes and before paint, so a frame never shows a masked element
  without its box. The overlay sits on ``<html>`` (not ``<body>``), takes no pointer events and is
  invisible to page scripts and Playwright selectors (closed shadow root). It stays in place while
  a stored screenshot is taken: the screencast keeps running then, and hiding the overlay for
  Playwright's own mask would leak a frame.

Masked elements: password inputs, anything marked ``data-secret`` and the CSS selectors a playbook
lists in ``mask_selectors``. The live view runs in the page, so those selectors must be CSS; a
Playwright-only selector (``text=``, ``role=``) is refused rather than silently left unmasked.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ignition_toolbox.core import StepFailedError

from .options import DEFAULT_MASK_COLOR

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Locator, Page

DEFAULT_MASK_SELECTORS: tuple[str, ...] = ('input[type="password" i]', "[data-secret]")

# The same secret fields as ``DEFAULT_MASK_SELECTORS``, as an XPath step from an element: it yields
# the element and, when the element is a secret field, its parent as well.
SECRET_FIELD_PROBE = (
    "xpath=self::* | self::*[@data-secret or (local-name()='input' and "
    "translate(@type, 'PASWORD', 'pasword')='password')]/.."
)

OVERLAY_TAG = "itk-mask"

_OVERLAY_JS = """
(config) => {
  const existing = window.__itkMask;
  if (existing) { existing.update(config); return; }
  const state = { selectors: config.selectors.join(','), color: config.color, host: null, root: null, boxes: [] };
  const attach = () => {
    if (state.host && state.host.isConnected) return true;
    const parent = document.documentElement;
    if (!parent) return false;
    const host = document.createElement('__TAG__');
    host.style.cssText = 'display:block;position:fixed;left:0;top:0;width:0;height:0;margin:0;'
      + 'padding:0;border:0;overflow:visible;pointer-events:none;z-index:2147483647;'
      + 'transform:none;filter:none;contain:none;opacity:1;visibility:visible;';
    state.root = host.attachShadow({ mode: 'closed' });
    state.boxes = [];
    parent.appendChild(host);
    state.host = host;
    return true;
  };
  const tick = () => {
    try {
      if (attach()) {
        const rects = [];
        if (state.selectors) {
          for (const el of document.querySelectorAll(state.selectors)) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.height > 0) rects.push(r);
          }
        }
        while (state.boxes.length < rects.length) {
          const box = document.createElement('div');
          state.root.appendChild(box);
          state.boxes.push(box);
        }
        state.boxes.forEach((box, i) => {
          let css = 'display:none';
          if (i < rects.length) {
            const r = rects[i];
            css = `display:block;position:fixed;margin:0;padding:0;border:0;left:${Math.floor(r.left) - 1}px;`
              + `top:${Math.floor(r.top) - 1}px;width:${Math.ceil(r.width) + 2}px;`
              + `height:${Math.ceil(r.height) + 2}px;background:${state.color};`;
          }
          if (box.__itkCss !== css) { box.style.cssText = css; box.__itkCss = css; }
        });
      }
    } catch (e) { /* a page that breaks the DOM must not stop the mask loop */ }
    requestAnimationFrame(tick);
  };
  Object.defineProperty(window, '__itkMask', {
    value: { update(c) { state.selectors = c.selectors.join(','); state.color = c.color; } },
    enumerable: false,
  });
  tick();
}
""".replace("__TAG__", OVERLAY_TAG)

_VALIDATE_JS = """
(selectors) => {
  const bad = [];
  const probe = document.createDocumentFragment();
  for (const s of selectors) { try { probe.querySelector(s); } catch (e) { bad.push(s); } }
  return bad;
}
"""


class Masker:
    """The masked selectors of one execution, applied to stored screenshots and to the live view."""

    def __init__(self, extra_selectors: tuple[str, ...] = (), color: str = DEFAULT_MASK_COLOR):
        self.selectors: tuple[str, ...] = (*DEFAULT_MASK_SELECTORS, *extra_selectors)
        self.color = color

    def _config(self) -> str:
        return json.dumps({"selectors": list(self.selectors), "color": self.color})

    async def validate(self, page: Page) -> None:
        """Refuse selectors the in-page overlay cannot use, naming them."""
        bad: list[str] = await page.evaluate(_VALIDATE_JS, list(self.selectors))
        if bad:
            raise StepFailedError(
                "mask_selectors must be CSS selectors (the live view masks inside the page); "
                f"not usable: {', '.join(bad)}",
                {"selectors": bad},
                code="validation_error",
            )

    async def install(self, context: BrowserContext) -> None:
        """Put the overlay in every document the context loads from now on, frames included."""
        await context.add_init_script(script=f"({_OVERLAY_JS})({self._config()});")

    async def apply(self, page: Page) -> None:
        """Put the overlay in a document that was already loaded (every frame of it)."""
        for frame in page.frames:
            try:
                await frame.evaluate(_OVERLAY_JS, json.loads(self._config()))
            except Exception:
                continue  # a frame that navigates away gets the init script instead

    def locators(self, page: Page) -> list[Locator]:
        """The locators Playwright's ``mask`` option needs for a stored screenshot."""
        return [page.locator(selector) for selector in self.selectors]


__all__ = ["DEFAULT_MASK_SELECTORS", "OVERLAY_TAG", "SECRET_FIELD_PROBE", "Masker"]
