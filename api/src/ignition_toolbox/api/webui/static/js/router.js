// A hash router: '#/playbooks/gateway/x.yaml' -> the first route whose pattern matches.
// Each view is `async render(root, params, ctx)` and may return a cleanup function.

export class Router {
  constructor(root, routes, ctx) {
    this.root = root;
    this.routes = routes; // [{pattern: RegExp, view, nav}]
    this.ctx = ctx;
    this.cleanup = null;
    this.token = 0;
    window.addEventListener('hashchange', () => this.render());
  }

  current() {
    const raw = location.hash.replace(/^#/, '');
    try {
      return decodeURI(raw) || '/playbooks';
    } catch {
      return raw || '/playbooks'; // a malformed %-sequence: use it as typed
    }
  }

  async render() {
    const path = this.current();
    this.token += 1;
    const token = this.token;
    if (typeof this.cleanup === 'function') {
      try {
        this.cleanup();
      } catch {
        /* a view's cleanup must not break navigation */
      }
    }
    this.cleanup = null;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      this.ctx.setActiveNav(route.nav);
      this.root.replaceChildren();
      this.root.setAttribute('aria-busy', 'true');
      try {
        const cleanup = await route.view(this.root, match.groups || {}, {
          ...this.ctx,
          stale: () => token !== this.token,
        });
        if (token === this.token) this.cleanup = cleanup;
        else if (typeof cleanup === 'function') cleanup();
      } catch (err) {
        if (token === this.token) this.ctx.showError(this.root, err);
      } finally {
        if (token === this.token) this.root.removeAttribute('aria-busy');
      }
      if (token === this.token) {
        const heading = this.root.querySelector('h1');
        if (heading) {
          heading.setAttribute('tabindex', '-1');
          heading.focus({ preventScroll: true });
        }
      }
      return;
    }
    location.hash = '#/playbooks';
  }
}

export function navigate(path) {
  location.hash = `#${path}`;
}
