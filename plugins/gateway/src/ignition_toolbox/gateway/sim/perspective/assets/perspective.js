/* Simulated Perspective client (IGNITION.md §4f). Renders a subset of view.json with the real DOM
   hooks: data-component, positional data-component-path, meta.domId -> id, ia_* classes, docks,
   popups, terminal states. Not Inductive Automation code; a test double for the toolbox. */
(function () {
  "use strict";
  const B = JSON.parse(document.getElementById("perspective-bootstrap").textContent);
  const app = document.getElementById("app-container");
  const tags = Object.assign({}, B.tags || {});   // tagPath -> {value, quality}
  let bindings = [];          // {comp, prop, tagPath}
  let currentPage = B.page;
  let popupCount = 0;
  const SIDES = { top: "T", left: "L", right: "R", bottom: "B" };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svg(cls) {
    const ns = "http://www.w3.org/2000/svg";
    const s = document.createElementNS(ns, "svg");
    s.setAttribute("class", cls);
    s.setAttribute("viewBox", "0 0 24 24");
    const p = document.createElementNS(ns, "path");
    p.setAttribute("d", "M4 4h16v16H4z");
    s.appendChild(p);
    return s;
  }

  function post(url, body) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                        body: JSON.stringify(body) }).then((r) => r.json());
  }

  function logEvent(comp, action, value, extra) {
    return post("/__sim__/perspective/events", Object.assign({
      pageId: B.pageId, page: currentPage, componentPath: comp ? comp.path : null,
      componentType: comp ? comp.spec.type : null, domId: comp ? comp.domId : null,
      action: action, value: value === undefined ? null : value,
    }, extra || {}));
  }

  function writeTag(comp, tagPath, value, action) {
    tags[tagPath] = { value: value, quality: "Good" };
    refreshBindings(tagPath);
    return logEvent(comp, action || "writeTag", value, { tagPath: tagPath, write: true });
  }

  // -- terminal states ------------------------------------------------------------------------

  function terminal(header, message, kind) {
    stopPolling();
    document.body.innerHTML = "";
    const page = el("div", "terminal-state-page");
    if (kind) page.setAttribute("data-terminal-state", kind);
    page.appendChild(el("h1", "terminal-state-header", header));
    const section = el("section", "terminal-state-section");
    section.appendChild(el("p", null, message || ""));
    page.appendChild(section);
    const link = el("a", "terminal-state-link", "Return to the gateway");
    link.href = "/app";
    page.appendChild(link);
    document.body.appendChild(page);
  }

  // -- components -----------------------------------------------------------------------------

  function bindingOf(spec, prop) {
    const cfg = spec.propConfig && spec.propConfig["props." + prop];
    const b = cfg && cfg.binding;
    if (b && b.type === "tag" && b.config && b.config.tagPath) {
      return { tagPath: String(b.config.tagPath), bidirectional: !!b.config.bidirectional };
    }
    return null;
  }

  function commitProp(comp, prop, value, action) {
    comp.props[prop] = value;
    const b = bindingOf(comp.spec, prop);
    if (b && b.bidirectional) return writeTag(comp, b.tagPath, value, action);
    return logEvent(comp, action, value);
  }

  function runActions(comp, handlers) {
    const list = Array.isArray(handlers) ? handlers : handlers ? [handlers] : [];
    for (const h of list) {
      const cfg = h.config || {};
      if (h.type === "tag-write") {
        let value = cfg.value;
        if (cfg.mode === "toggle") value = !(tags[cfg.tagPath] && tags[cfg.tagPath].value);
        writeTag(comp, String(cfg.tagPath), value, "writeTag");
      } else if (h.type === "nav") {
        if (cfg.url) { logEvent(comp, "navigateExternal", cfg.url); window.location.href = cfg.url; return; }
        navigate(String(cfg.page || cfg.url || "/"), comp);
      } else if (h.type === "popup") {
        popupAction(comp, cfg);
      } else if (h.type === "dock") {
        dockAction(comp, cfg);
      } else {
        logEvent(comp, "script", cfg.script || null);
      }
    }
  }

  function Comp(spec, path) {
    this.spec = spec;
    this.path = path;
    this.props = Object.assign({}, spec.props || {});
    this.domId = spec.meta && spec.meta.domId ? String(spec.meta.domId) : null;
    this.quality = "Good";
  }

  function applyCommon(comp, node) {
    node.setAttribute("data-component", comp.spec.type);
    node.setAttribute("data-component-path", comp.path);
    if (comp.domId) node.id = comp.domId;
    const style = comp.props.style || {};
    if (style.classes) String(style.classes).split(/\s+/).filter(Boolean).forEach((c) => node.classList.add("psc-" + c));
    if (comp.spec.position && comp.parentType === "ia.container.coord") {
      const p = comp.spec.position;
      Object.assign(node.style, { position: "absolute", left: (p.x || 0) + "px", top: (p.y || 0) + "px",
                                  width: p.width ? p.width + "px" : "", height: p.height ? p.height + "px" : "" });
    } else if (comp.spec.position && comp.spec.position.basis) {
      node.style.flex = "0 0 " + comp.spec.position.basis;
    }
    if (comp.props.visible === false || (comp.spec.meta && comp.spec.meta.visible === false)) node.style.display = "none";
  }

  const RENDER = {
    "ia.container.flex": function (comp) {
      const node = el("div", "flex-container ia_container--flex");
      node.style.display = "flex";
      node.style.flexDirection = comp.props.direction || "row";
      node.style.gap = "6px";
      renderChildren(comp, node);
      return node;
    },
    "ia.container.coord": function (comp) {
      const node = el("div", "coord-container ia_container--coord");
      node.style.position = "relative";
      node.style.minHeight = (comp.props.height || 200) + "px";
      renderChildren(comp, node);
      return node;
    },
    "ia.display.label": function (comp) {
      const node = el("div", "ia_labelComponent");
      comp.update = function () {
        node.textContent = comp.props.text === undefined || comp.props.text === null ? "" : String(comp.props.text);
        node.classList.toggle("ia_labelComponent--bad-quality", comp.quality !== "Good");
        if (comp.quality !== "Good") {
          const o = el("div", "ia_qualityOverlay", comp.quality);
          o.title = comp.quality;
          node.appendChild(o);
        }
      };
      return node;
    },
    "ia.input.button": function (comp) {
      const node = el("button", "ia_button");
      node.type = "button";
      const text = el("div", "text");
      node.appendChild(text);
      comp.update = function () {
        text.textContent = comp.props.text === undefined ? "Button" : String(comp.props.text);
        const enabled = comp.props.enabled !== false;
        node.classList.toggle("ia_button--primary", comp.props.primary !== false);
        node.classList.toggle("ia_button--secondary", comp.props.primary === false);
        node.classList.toggle("ia_button--disabled", !enabled);
        node.disabled = !enabled;
      };
      node.addEventListener("click", function () {
        if (comp.props.enabled === false) return;
        logEvent(comp, "actionPerformed", comp.props.text);
        const events = (comp.spec.events && comp.spec.events.component) || {};
        runActions(comp, events.onActionPerformed);
      });
      return node;
    },
    "ia.input.text-field": function (comp) {
      const node = el("input", "ia_inputField text-field");
      node.type = "text";
      if (comp.props.placeholder) node.placeholder = comp.props.placeholder;
      let committed = null;
      comp.update = function () {
        const v = comp.props.text === undefined || comp.props.text === null ? "" : String(comp.props.text);
        if (document.activeElement !== node) node.value = v;
        committed = v;
        node.disabled = comp.props.enabled === false;
      };
      function commit() {
        if (node.value === committed) return;
        committed = node.value;
        commitProp(comp, "text", node.value, "commit");
      }
      node.addEventListener("blur", commit);
      node.addEventListener("keydown", function (e) { if (e.key === "Enter") commit(); });
      return node;
    },
    "ia.input.numeric-entry-field": function (comp) {
      const node = el("div", "ia_numericEntryField");
      const input = el("input", "ia_inputField ia_numericEntryField__input");
      input.type = "text";
      input.setAttribute("inputmode", "decimal");
      node.appendChild(input);
      comp.update = function () {
        const v = comp.props.value === undefined || comp.props.value === null ? "" : String(comp.props.value);
        if (document.activeElement !== input) input.value = v;
        input.disabled = comp.props.enabled === false;
      };
      function commit() {
        const raw = input.value.trim();
        const n = Number(raw);
        const min = comp.props.minValue, max = comp.props.maxValue;
        const bad = raw === "" || !isFinite(n) || (min !== undefined && n < min) || (max !== undefined && n > max);
        node.classList.toggle("ia_numericEntryField--invalid", bad);
        if (bad) {
          logEvent(comp, "reject", raw);
          input.value = comp.props.value === undefined || comp.props.value === null ? "" : String(comp.props.value);
          return;
        }
        if (n === comp.props.value) return;
        commitProp(comp, "value", n, "commit");
      }
      input.addEventListener("blur", commit);
      input.addEventListener("keydown", function (e) { if (e.key === "Enter") commit(); });
      return node;
    },
    "ia.input.toggle-switch": function (comp) {
      const node = el("div", "ia_toggleSwitchComponent");
      const sw = el("div", "ia_toggleSwitch");
      sw.setAttribute("role", "switch");
      sw.appendChild(el("div", "ia_toggleSwitch__track"));
      sw.appendChild(el("div", "ia_toggleSwitch__thumb"));
      node.appendChild(sw);
      comp.update = function () {
        const on = !!comp.props.selected;
        sw.classList.toggle("ia_toggleSwitch--selected", on);
        sw.setAttribute("aria-checked", on ? "true" : "false");
        node.classList.toggle("ia_toggleSwitch--disabled", comp.props.enabled === false);
      };
      sw.addEventListener("click", function () {
        if (comp.props.enabled === false) return;
        commitProp(comp, "selected", !comp.props.selected, "toggle");
        comp.update();
      });
      return node;
    },
    "ia.input.checkbox": function (comp) {
      const node = el("label", "ia_checkbox");
      const on = svg("ia_checkbox__checkedIcon"), off = svg("ia_checkbox__uncheckedIcon");
      const text = el("span", "ia_checkbox__label");
      node.appendChild(on); node.appendChild(off); node.appendChild(text);
      comp.update = function () {
        const checked = !!comp.props.selected;
        on.style.display = checked ? "" : "none";
        off.style.display = checked ? "none" : "";
        node.setAttribute("aria-checked", checked ? "true" : "false");
        node.classList.toggle("ia_checkbox--checked", checked);
        node.classList.toggle("ia_checkbox--disabled", comp.props.enabled === false);
        text.textContent = comp.props.text || "";
      };
      node.addEventListener("click", function (e) {
        e.preventDefault();
        if (comp.props.enabled === false) return;
        commitProp(comp, "selected", !comp.props.selected, "toggle");
        comp.update();
      });
      return node;
    },
    "ia.input.dropdown": function (comp) {
      const node = el("div", "ia_dropdown");
      const value = el("div", "ia_dropdown__valueContainer");
      const list = el("div", "ia_dropdown__optionsContainer");
      list.style.display = "none";
      node.appendChild(value); node.appendChild(list);
      const options = function () { return (comp.props.options || []).map(function (o) {
        return typeof o === "object" && o !== null ? o : { value: o, label: String(o) }; }); };
      comp.update = function () {
        const current = options().find(function (o) { return o.value === comp.props.value; });
        value.textContent = current ? String(current.label) : (comp.props.placeholder || "Select...");
        list.innerHTML = "";
        options().forEach(function (o) {
          const opt = el("div", "ia_dropdown__option", o.label);
          opt.setAttribute("data-value", String(o.value));
          if (current && o.value === current.value) opt.classList.add("ia_dropdown__option--selected");
          opt.addEventListener("click", function (e) {
            e.stopPropagation();
            list.style.display = "none";
            commitProp(comp, "value", o.value, "select");
            comp.update();
          });
          list.appendChild(opt);
        });
      };
      value.addEventListener("click", function () {
        if (comp.props.enabled === false) return;
        list.style.display = list.style.display === "none" ? "block" : "none";
      });
      return node;
    },
    "ia.display.table": function (comp) {
      const node = el("div", "ia_tableComponent");
      const head = el("div", "ia_table__head");
      const body = el("div", "ia_table__body");
      node.appendChild(head); node.appendChild(body);
      const rows = comp.props.data || [];
      const columns = (comp.props.columns && comp.props.columns.length
        ? comp.props.columns.map(function (c) { return typeof c === "string" ? { field: c } : c; })
        : Object.keys(rows[0] || {}).map(function (k) { return { field: k }; }));
      columns.forEach(function (c) {
        const h = el("div", "ia_table__head__header", c.header || c.field);
        h.setAttribute("data-column-id", c.field);
        head.appendChild(h);
      });
      setTimeout(function () {
        rows.forEach(function (r, i) {
          const row = el("div", "ia_table__body__row");
          row.setAttribute("data-row-index", String(i));
          columns.forEach(function (c) {
            const cell = el("div", "tc ia_table__body__cell", r[c.field]);
            cell.setAttribute("data-column-id", c.field);
            row.appendChild(cell);
          });
          row.addEventListener("click", function () { logEvent(comp, "rowClick", i); });
          body.appendChild(row);
        });
      }, B.tableDelayMs || 0);
      return node;
    },
    "ia.display.view": function (comp) {
      const node = el("div", "ia_embeddedView");
      const view = (B.views || {})[comp.props.path];
      if (view && view.root && (comp.depth || 0) < 8) {
        const inner = build(view.root, comp.path + "$0", comp.depth + 1);
        node.appendChild(inner);
      } else {
        node.appendChild(errorBoundary("View not found: " + comp.props.path));
      }
      return node;
    },
  };

  function errorBoundary(message) {
    const node = el("div", "component-error-boundary");
    node.appendChild(el("div", "error-pie"));
    node.appendChild(el("span", "error-message", message));
    return node;
  }

  function renderChildren(comp, node) {
    (comp.spec.children || []).forEach(function (child, i) {
      const c = build(child, comp.path + ":" + i, comp.depth, comp.spec.type);
      node.appendChild(c);
    });
  }

  function build(spec, path, depth, parentType) {
    const comp = new Comp(spec, path);
    comp.depth = depth || 0;
    comp.parentType = parentType;
    const render = RENDER[spec.type];
    let node;
    if (render) {
      node = render(comp);
    } else {
      node = errorBoundary("Unknown component type: " + spec.type);
    }
    comp.node = node;
    applyCommon(comp, node);
    for (const prop of Object.keys(spec.propConfig || {})) {
      const b = bindingOf(spec, prop.replace(/^props\./, ""));
      if (b) bindings.push({ comp: comp, prop: prop.replace(/^props\./, ""), tagPath: b.tagPath });
    }
    if (comp.update) comp.update();
    return node;
  }

  function refreshBindings(onlyTag) {
    for (const b of bindings) {
      if (onlyTag && b.tagPath !== onlyTag) continue;
      const t = tags[b.tagPath];
      if (!t) continue;
      const quality = t.quality || "Good";
      if (b.comp.props[b.prop] === t.value && b.comp.quality === quality) continue;
      b.comp.props[b.prop] = t.value;
      b.comp.quality = quality;
      if (b.comp.update) b.comp.update();
    }
  }

  // -- pages, docks, popups -------------------------------------------------------------------

  function pageEntry(page) {
    const pages = (B.pageConfig && B.pageConfig.pages) || {};
    return pages[page] || null;
  }

  function docksFor(entry, view) {
    const result = { top: [], left: [], right: [], bottom: [] };
    const sources = [B.pageConfig.sharedDocks || {}, entry.docks || {}, view.docks || {}];
    sources.forEach(function (src) {
      Object.keys(result).forEach(function (side) { (src[side] || []).forEach(function (d) { result[side].push(d); }); });
    });
    return result;
  }

  function dockView(d) {
    if (d.view && d.view.root) return d.view;
    return (B.views || {})[d.viewPath || d.view] || null;
  }

  let shellParts = null;

  function renderPage(page) {
    const entry = pageEntry(page);
    const view = entry && (B.views || {})[entry.viewPath];
    if (!entry || !view || !view.root) {
      terminal("Page Not Found", "No page is configured at " + page + " in project " + B.project + ".", "page-not-found");
      return false;
    }
    bindings = [];
    popupCount = 0;
    app.innerHTML = "";
    const root = el("div", "root-view-container");
    if (B.user) {
      const bar = el("div", "app-bar");
      bar.appendChild(el("div", "project-title", B.title || B.project));
      bar.appendChild(el("div", "username", B.user));
      root.appendChild(bar);
    }
    const docks = docksFor(entry, view);
    const middle = el("div", "middle-row");
    const centre = el("div", "center-view view-container");
    const parts = { docks: {}, centre: centre };
    Object.keys(SIDES).forEach(function (side) {
      if (!docks[side].length) return;
      const wrap = el("div", "docked-view-" + side);
      docks[side].forEach(function (d, i) {
        const dv = dockView(d);
        const holder = el("div", "dock");
        holder.setAttribute("data-dock-id", d.id || side + i);
        const show = d.show || d.display || "visible";
        holder.setAttribute("data-dock-display", show);
        if (dv && dv.root) holder.appendChild(build(dv.root, SIDES[side] + "[" + i + "]", 0));
        if (show !== "visible") holder.style.display = "none";
        wrap.appendChild(holder);
        if (show === "onDemand" && d.handle !== "hide") {
          const handle = el("div", "view-toggle toggle-" + side);
          handle.setAttribute("data-dock-toggle", d.id || side + i);
          handle.title = "Toggle dock " + (d.id || side + i);
          handle.addEventListener("click", function () { dockAction(null, { type: "toggle", id: d.id || side + i }); });
          wrap.appendChild(handle);
        }
        parts.docks[d.id || side + i] = holder;
      });
      if (side === "top") root.appendChild(wrap);
      else if (side === "bottom") parts.bottom = wrap;
      else if (side === "left") middle.appendChild(wrap);
      else parts.right = wrap;
    });
    centre.appendChild(build(view.root, "C", 0));
    middle.appendChild(centre);
    if (parts.right) middle.appendChild(parts.right);
    root.appendChild(middle);
    if (parts.bottom) root.appendChild(parts.bottom);
    app.appendChild(root);
    shellParts = parts;
    document.title = (view.title || entry.title || B.title || B.project);
    refreshBindings();
    return true;
  }

  function dockAction(comp, cfg) {
    const id = String(cfg.id || "");
    const holder = shellParts && shellParts.docks[id];
    if (!holder) { logEvent(comp, "dockNotFound", id); return; }
    const visible = holder.style.display !== "none";
    const want = cfg.type === "open" ? true : cfg.type === "close" ? false : !visible;
    holder.style.display = want ? "" : "none";
    holder.classList.toggle("dock--open", want);
    logEvent(comp, want ? "dockOpen" : "dockClose", id);
  }

  function popupAction(comp, cfg) {
    const id = String(cfg.id || cfg.viewPath || "popup");
    const existing = document.getElementById("popup-" + id);
    const kind = cfg.type || "open";
    if (existing && (kind === "close" || kind === "toggle")) { closePopup(id, comp); return; }
    if (kind === "close") return;
    if (existing) existing.remove();
    const view = (B.views || {})[cfg.viewPath] || null;
    const popup = el("div", "popup");
    popup.id = "popup-" + id;
    popup.setAttribute("data-popup-id", id);
    const header = el("div", "popup-header");
    header.appendChild(el("span", "popup-title", cfg.title || id));
    const close = svg("close-icon");
    close.addEventListener("click", function () { closePopup(id, null); });
    header.appendChild(close);
    const body = el("div", "popup-body");
    if (view && view.root) body.appendChild(build(view.root, "P[" + popupCount++ + "]", 0));
    else body.appendChild(errorBoundary("View not found: " + cfg.viewPath));
    popup.appendChild(header);
    popup.appendChild(body);
    if (cfg.modal) {
      const modal = el("div", "modal");
      modal.id = "modal-" + id;
      modal.addEventListener("click", function () { if (cfg.overlayDismiss) closePopup(id, null); });
      document.body.appendChild(modal);
    }
    document.body.appendChild(popup);
    refreshBindings();
    logEvent(comp, "popupOpen", id);
  }

  function closePopup(id, comp) {
    const popup = document.getElementById("popup-" + id);
    if (popup) popup.remove();
    const modal = document.getElementById("modal-" + id);
    if (modal) modal.remove();
    logEvent(comp, "popupClose", id);
  }

  function navigate(page, comp) {
    document.querySelectorAll("div.popup, div.modal").forEach(function (n) { n.remove(); });
    currentPage = page;
    history.pushState({ page: page }, "", B.clientPrefix + (page === "/" ? "" : page));
    logEvent(comp, "navigate", page, { page: page });
    renderPage(page);
  }

  window.addEventListener("popstate", function (e) {
    currentPage = (e.state && e.state.page) || B.page;
    logEvent(null, "navigate", currentPage, { page: currentPage });
    renderPage(currentPage);
  });

  // -- polling --------------------------------------------------------------------------------

  let timer = null;
  function stopPolling() { if (timer) { clearInterval(timer); timer = null; } }

  function poll() {
    const wanted = Array.from(new Set(bindings.map(function (b) { return b.tagPath; })));
    post("/__sim__/perspective/poll", { pageId: B.pageId, tags: wanted }).then(function (r) {
      if (r.closed) { terminal("Session Closed", r.message, "session-closed"); return; }
      Object.keys(r.tags || {}).forEach(function (p) { tags[p] = r.tags[p]; });
      refreshBindings();
    }).catch(function () { /* gateway away: keep the last values, as a real client shows stale */ });
  }

  // -- start ----------------------------------------------------------------------------------

  window.__perspectiveSim = { pageId: B.pageId, sessionId: B.sessionId, navigate: navigate };
  setTimeout(function () {
    if (B.terminal) { terminal(B.terminal.header, B.terminal.message, B.terminal.kind); return; }
    if (renderPage(B.page)) {
      poll();
      timer = setInterval(poll, 250);
    }
  }, B.renderDelayMs || 0);
})();
