/* Simulated gateway web UI (IGNITION.md §4e). Calls the simulator's REST routes with the session
   cookie and X-CSRF-Token; carries the hooks of real gateways and the reference playbooks. */
(function () {
  "use strict";
  const B = JSON.parse(document.getElementById("webui-bootstrap").textContent);
  const API = "/data/api/v1";
  const body = document.getElementById("page-body");
  const errorBox = document.querySelector(".error-message");
  let csrf = null;

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") e.className = attrs[k];
      else if (k === "disabled") e.disabled = !!attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function button(label, attrs) {
    return el("button", Object.assign({ type: "button", "data-component": "web-ui.button", "data-label": label }, attrs || {}), label);
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.style.display = message ? "" : "none";
  }

  async function session() {
    if (csrf) return csrf;
    const r = await fetch("/data/app/session");
    if (!r.ok) throw new Error("Not logged in");
    csrf = (await r.json()).csrfToken;
    return csrf;
  }

  async function api(method, path, payload, raw) {
    const headers = {};
    if (method !== "GET") headers["X-CSRF-Token"] = await session();
    let data;
    if (raw) { data = payload; headers["Content-Type"] = "application/octet-stream"; }
    else if (payload !== undefined) { data = JSON.stringify(payload); headers["Content-Type"] = "application/json"; }
    const r = await fetch(API + path, { method: method, headers: headers, body: data });
    const text = await r.text();
    if (!r.ok) {
      const m = /<th>MESSAGE:<\/th><td>([^<]*)<\/td>/.exec(text);
      throw new Error(m ? m[1].replace(/&amp;/g, "&").replace(/&#x27;/g, "'") : "HTTP " + r.status);
    }
    try { return JSON.parse(text); } catch (e) { return text; }
  }

  function dialog(id, title) {
    const overlay = el("div", { class: "modal-overlay", id: id + "-overlay" });
    const box = el("div", { class: "modal-dialog", id: id, role: "dialog", "aria-label": title });
    box.appendChild(el("h2", { class: "modal-title" }, title));
    overlay.appendChild(box);
    document.body.appendChild(overlay);
    return { box: box, close: function () { overlay.remove(); } };
  }

  function acceptDialog(id, title, label, content) {
    return new Promise(function (resolve) {
      const d = dialog(id, title);
      if (content) d.box.appendChild(content);
      const check = el("input", { type: "checkbox", id: id + "-check" });
      const lab = el("label", { for: id + "-check", class: "checkbox-label" });
      lab.appendChild(check);
      lab.appendChild(document.createTextNode(" " + label));
      const accept = button("Accept", { disabled: true });
      const cancel = button("Cancel", { class: "secondary" });
      check.addEventListener("change", function () { accept.disabled = !check.checked; });
      accept.addEventListener("click", function () { d.close(); resolve(true); });
      cancel.addEventListener("click", function () { d.close(); resolve(false); });
      d.box.appendChild(lab);
      d.box.appendChild(accept);
      d.box.appendChild(cancel);
    });
  }

  // -- restart bar and dialog -----------------------------------------------------------------

  async function refreshRestartBar() {
    if (!B.user) return;
    try {
      const tasks = await api("GET", "/restart-tasks/pending");
      document.querySelector(".restart-required").style.display = tasks.length ? "" : "none";
    } catch (e) { /* not fatal */ }
  }

  // A restart ends every web session; the gateway is back when it answers RUNNING again after
  // it was seen starting (or after the old session is gone).
  function watchRestart(status) {
    let wentAway = false;
    const timer = setInterval(async function () {
      try {
        const ping = await fetch("/StatusPing");
        const state = ping.ok ? (await ping.json()).state : "DOWN";
        if (state !== "RUNNING") { wentAway = true; return; }
        if (!wentAway) wentAway = (await fetch("/data/app/session")).status === 401;
        if (wentAway) { clearInterval(timer); status.textContent = "Gateway restarted"; }
      } catch (e) { wentAway = true; }
    }, 300);
  }

  function restartDialog() {
    const d = dialog("restart-dialog", "Restart Gateway");
    d.box.appendChild(el("p", {}, "Restarting the gateway disconnects every client."));
    const check = el("input", { type: "checkbox", id: "restart-understand" });
    const lab = el("label", { for: "restart-understand", class: "checkbox-label" });
    lab.appendChild(check);
    lab.appendChild(document.createTextNode(" I understand the risks"));
    const go = el("button", { type: "button", id: "restart gateway-button", "data-component": "web-ui.button",
                              "data-label": "Restart Gateway", disabled: true }, "Restart Gateway");
    const cancel = button("Cancel", { class: "secondary" });
    check.addEventListener("change", function () { go.disabled = !check.checked; });
    cancel.addEventListener("click", d.close);
    go.addEventListener("click", async function () {
      go.disabled = true;
      try {
        await api("POST", "/restart-tasks/restart?confirm=true");
        const status = el("p", { class: "restart-status" }, "Gateway restarting...");
        d.box.appendChild(status);
        watchRestart(status);
      } catch (e) { showError(e.message); }
    });
    d.box.appendChild(lab);
    d.box.appendChild(go);
    d.box.appendChild(cancel);
  }
  document.querySelector(".restart-required button").addEventListener("click", restartDialog);

  // -- pages ----------------------------------------------------------------------------------

  const PAGES = {};

  PAGES.home = async function () {
    body.appendChild(el("p", { class: "gateway-summary" }, "Gateway " + B.gateway));
    if (!B.user) return;
    const trial = await api("GET", "/trial");
    body.appendChild(el("p", { class: "trial-remaining" }, "Trial: " + trial.trialSecondsLeft + " s left"));
  };

  PAGES.modules = async function () {
    const filter = el("input", { type: "text", placeholder: "Filter modules", class: "module-filter" });
    const install = el("button", { type: "button", class: "install-module-button" }, "Install or Upgrade Module");
    const table = el("table", { class: "modules-table" });
    body.appendChild(filter);
    body.appendChild(install);
    body.appendChild(table);

    async function load() {
      const data = await api("GET", "/modules/healthy");
      const quarantined = await api("GET", "/modules/quarantined");
      table.innerHTML = "<thead><tr><th>Name</th><th>Version</th><th>State</th><th></th></tr></thead>";
      const tbody = el("tbody");
      const needle = filter.value.toLowerCase();
      data.items.concat((quarantined.items || []).map(function (q) { return Object.assign({ state: "QUARANTINED" }, q); }))
        .filter(function (m) { return !needle || m.name.toLowerCase().includes(needle) || m.id.toLowerCase().includes(needle); })
        .forEach(function (m) {
          const tr = el("tr", { class: "module-row", "data-module-id": m.id });
          tr.appendChild(el("td", { class: "module-name" }, m.name));
          tr.appendChild(el("td", { class: "module-version" }, m.version));
          tr.appendChild(el("td", { class: "module-state" }, m.state));
          const cell = el("td", { class: "module-actions" });
          const more = el("button", { type: "button", "aria-label": "more options", class: "more-options" }, "⋮");
          more.addEventListener("click", function () { rowMenu(cell, m); });
          cell.appendChild(more);
          tr.appendChild(cell);
          tbody.appendChild(tr);
        });
      table.appendChild(tbody);
      await refreshRestartBar();
    }

    function rowMenu(cell, m) {
      document.querySelectorAll("ul.row-menu").forEach(function (n) { n.remove(); });
      const menu = el("ul", { class: "row-menu", role: "menu" });
      const item = el("li", { role: "menuitem" }, "Uninstall");
      item.addEventListener("click", function () {
        menu.remove();
        const d = dialog("uninstall-dialog", "Uninstall " + m.name);
        d.box.appendChild(el("p", {}, "Uninstall " + m.name + "? It is removed at the next restart."));
        const ok = el("button", { type: "button", class: "confirm-uninstall", "data-component": "web-ui.button", "data-label": "Uninstall" }, "Uninstall");
        const cancel = button("Cancel", { class: "secondary" });
        cancel.addEventListener("click", d.close);
        ok.addEventListener("click", async function () {
          try {
            const r = await api("DELETE", "/modules/uninstall?moduleId=" + encodeURIComponent(m.id));
            if (!r.success) throw new Error("Uninstall failed: " + r.failedUninstalls.uninstall.join(", "));
            d.close();
            await load();
          } catch (e) { d.close(); showError(e.message); }
        });
        d.box.appendChild(ok);
        d.box.appendChild(cancel);
      });
      menu.appendChild(item);
      cell.appendChild(menu);
    }

    install.addEventListener("click", function () {
      const d = dialog("install-module", "Install or Upgrade a Module");
      const file = el("input", { type: "file", accept: ".modl", class: "module-file" });
      const go = button("Install Module", { disabled: true });
      const cancel = button("Cancel", { class: "secondary" });
      file.addEventListener("change", function () { go.disabled = !file.files.length; });
      cancel.addEventListener("click", d.close);
      go.addEventListener("click", async function () {
        go.disabled = true;
        const f = file.files[0];
        d.close();
        try {
          const up = await api("POST", "/modules/upload?fileName=" + encodeURIComponent(f.name), await f.arrayBuffer(), true);
          const id = encodeURIComponent(up.moduleId);
          if (up.containsCert && !up.certAccepted) {
            if (!await acceptDialog("certificate-dialog", "Module Certificate", "I accept the module certificate")) return;
            await api("POST", "/modules/certificate?moduleId=" + id);
          }
          if (up.containsEula && !up.licenseAccepted) {
            const eula = await api("GET", "/modules/eula?moduleId=" + id);
            const text = el("div", { class: "eula-text" });
            text.textContent = String(eula).replace(/<[^>]*>/g, " ").trim();
            if (!await acceptDialog("eula-dialog", "License Agreement", "I accept", text)) return;
            await api("POST", "/modules/eula?moduleId=" + id);
          }
          await api("POST", "/modules/install?moduleId=" + id);
          body.appendChild(el("p", { class: "install-status" }, "Installed " + up.moduleId + "; restart required"));
          await load();
        } catch (e) { showError(e.message); }
      });
      d.box.appendChild(file);
      d.box.appendChild(go);
      d.box.appendChild(cancel);
    });
    filter.addEventListener("input", load);
    await load();
  };

  PAGES.licensing = async function () {
    const trial = await api("GET", "/trial");
    body.appendChild(el("p", { class: "license-mode" }, "License mode: " + trial.licenseMode));
    body.appendChild(el("p", { class: "trial-state" }, trial.expired ? "Trial expired" : "Trial active: " + trial.trialSecondsLeft + " s left"));
    const label = trial.expired ? "Reset" : "Activate";
    const b = button(label);
    b.addEventListener("click", async function () {
      if (label !== "Reset") { showError("Activation is not simulated"); return; }
      try {
        const r = await api("POST", "/trial");
        body.appendChild(el("p", { class: "trial-reset-status" }, "Trial reset: " + r.trialSecondsLeft + " s left"));
        b.remove();
      } catch (e) { showError(e.message); }
    });
    body.appendChild(b);
  };

  PAGES.backup = async function () {
    const a = el("a", { href: API + "/backup?type=all", class: "download-backup", "data-component": "web-ui.button", "data-label": "Download Backup", download: "" }, "Download Backup");
    body.appendChild(a);
  };

  PAGES["api-keys"] = async function () {
    const start = button("Create API Key");
    body.appendChild(start);
    start.addEventListener("click", function () {
      start.disabled = true;
      const panel = el("div", { class: "create-key-panel" });
      panel.appendChild(el("p", {}, "API keys let scripts and tools call the gateway's REST API."));
      const next = button("Next");
      panel.appendChild(next);
      body.appendChild(panel);
      next.addEventListener("click", function () {
        next.remove();
        const name = el("input", { id: "name-input", type: "text", placeholder: "Key name" });
        const create = button("Create API Key", { class: "submit-create-key" });
        panel.appendChild(name);
        panel.appendChild(create);
        create.addEventListener("click", async function () {
          try {
            if (!name.value) throw new Error("Name is required");
            const gen = await api("POST", "/api-token/generate");
            await api("POST", "/resources/ignition/api-token", [{ name: name.value, collection: "core", enabled: true,
              description: "Created in the web UI", config: { keyHash: gen.hash } }]);
            const d = dialog("api-key-created", "Create API Key");
            d.box.appendChild(el("p", {}, "Copy the key now; it is shown once."));
            const key = el("input", { id: "api-key", type: "text", disabled: true });
            key.setAttribute("value", name.value + ":" + gen.key);
            d.box.appendChild(key);
            const done = button("Done");
            done.addEventListener("click", d.close);
            d.box.appendChild(done);
          } catch (e) { showError(e.message); }
        });
      });
    });
  };

  (PAGES[B.page] || function () {})().then(refreshRestartBar).catch(function (e) { showError(e.message); });
})();
