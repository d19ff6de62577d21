"""The page's HTML at the moment a step failed, kept as an artifact with its secrets removed.

The always-on trace records no DOM snapshots (they cost every action a few milliseconds), so a
failure keeps the DOM once instead: the current main-frame document, with what a snapshot would
show (input values, checked boxes, selected options) written into attributes. It is safe to open:
script elements, inline event handlers, ``srcdoc`` documents and ``javascript:`` URLs are dropped,
and a ``<base>`` points relative links and styles at the page's address.

Secrets are removed twice. In the page, every element the masker masks (password inputs,
``data-secret``, the playbook's ``mask_selectors``) loses its ``value`` and its content. In
Python, the text is scrubbed of every secret the execution knows, which also covers a page that
copies a password elsewhere in its DOM or tampers with the serialisation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .masking import OVERLAY_TAG, Masker
from .tracing import scrub_text

if TYPE_CHECKING:
    from playwright.async_api import Page

_SERIALIZE_JS = """
(config) => {
  const live = document.documentElement;
  if (!live) return '';
  const copy = live.cloneNode(true);
  const fields = 'input, textarea, select';
  const originals = live.querySelectorAll(fields);
  copy.querySelectorAll(fields).forEach((el, i) => {
    const from = originals[i];
    if (!from) return;
    if (el.localName === 'textarea') el.textContent = from.value;
    else if (el.localName === 'select') {
      el.querySelectorAll('option').forEach((option, j) => {
        option.toggleAttribute('selected', !!(from.options[j] && from.options[j].selected));
      });
    } else if (from.type === 'checkbox' || from.type === 'radio') {
      el.toggleAttribute('checked', from.checked);
    } else if (from.type !== 'file') el.setAttribute('value', from.value);
  });
  const masked = config.selectors.join(',');
  if (masked) {
    for (const el of copy.querySelectorAll(masked)) {
      el.removeAttribute('value');
      if (el.firstChild) el.replaceChildren('***');
    }
  }
  copy.querySelectorAll('script, __TAG__').forEach((el) => el.remove());
  for (const el of copy.querySelectorAll('*')) {
    for (const name of el.getAttributeNames()) {
      const lower = name.toLowerCase();
      const value = (el.getAttribute(name) || '').trim().toLowerCase();
      if (lower.startsWith('on') || lower === 'srcdoc' || value.startsWith('javascript:')) {
        el.removeAttribute(name);
      }
    }
  }
  const head = copy.querySelector('head');
  if (head) {
    const base = document.createElement('base');
    base.setAttribute('href', document.baseURI);
    head.prepend(base);
  }
  const doctype = document.doctype ? `<!DOCTYPE ${document.doctype.name}>\\n` : '';
  return doctype + copy.outerHTML;
}
""".replace("__TAG__", OVERLAY_TAG)


async def page_html(page: Page, masker: Masker, secrets: list[str]) -> str:
    """The current document as HTML, masked elements emptied and known secrets scrubbed."""
    html: str = await page.evaluate(_SERIALIZE_JS, {"selectors": list(masker.selectors)})
    return scrub_text(html, secrets)


__all__ = ["page_html"]
