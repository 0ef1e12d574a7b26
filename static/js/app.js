/* Small glue for the server-rendered pages. No inline scripts: CSP allows only
   'self' and the nonce, so every behaviour lives here and is bound by data-*
   attributes. */
(function () {
  "use strict";

  const body = document.body;

  function toast(message, level) {
    const area = document.getElementById("toast-area");
    if (!area || !window.bootstrap) return;
    const el = document.createElement("div");
    el.className = "toast align-items-center border-0 text-bg-" + (level || "danger");
    el.setAttribute("role", "alert");
    const wrap = document.createElement("div");
    wrap.className = "d-flex";
    const text = document.createElement("div");
    text.className = "toast-body";
    text.textContent = message; // never HTML
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close btn-close-white me-2 m-auto";
    close.setAttribute("data-bs-dismiss", "toast");
    wrap.append(text, close);
    el.append(wrap);
    area.append(el);
    el.addEventListener("hidden.bs.toast", () => el.remove());
    new bootstrap.Toast(el, { delay: 6000 }).show();
  }

  // --- htmx: errors and expired sessions ------------------------------------------
  document.addEventListener("htmx:beforeSwap", function (evt) {
    const xhr = evt.detail.xhr;
    // LoginRequiredMiddleware answered with the login page: go there for real.
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf(body.dataset.loginUrl) !== -1) {
      evt.detail.shouldSwap = false;
      window.location.href = xhr.responseURL;
    }
  });
  document.addEventListener("htmx:responseError", function (evt) {
    const status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    toast(status === 404 ? body.dataset.notfoundText : body.dataset.errorText, "danger");
  });
  document.addEventListener("htmx:sendError", function () {
    toast(body.dataset.errorText, "danger");
  });

  // --- confirmations without inline handlers ----------------------------------------
  // Plain submits (htmx not loaded): htmx handles hx-confirm itself.
  document.addEventListener("submit", function (evt) {
    const form = evt.target;
    const htmxHandles = window.htmx && form.hasAttribute("hx-post");
    if (form.matches("form[data-confirm]") && !htmxHandles && !window.confirm(form.dataset.confirm)) {
      evt.preventDefault();
    }
  });

  // --- customer picker on the ticket form -----------------------------------------------
  const ADDRESS = ["street", "number", "complement", "neighbourhood", "city", "state", "zip_code", "condominium"];

  function pickCustomer(data) {
    const hidden = document.getElementById("id_customer");
    const picked = document.getElementById("customer-picked");
    if (!hidden || !picked) return;
    hidden.value = data.id;
    picked.querySelector("[data-customer-label]").textContent = data.label;
    picked.hidden = false;
    const search = document.getElementById("customer-search");
    if (search) search.value = "";
    const results = document.getElementById("customer-results");
    if (results) results.replaceChildren();
    ADDRESS.forEach(function (name) {
      const input = document.getElementById("id_" + name);
      if (input && data[name] !== undefined) input.value = data[name];
    });
    const invalid = document.querySelector("[data-customer-error]");
    if (invalid) invalid.remove();
    hidden.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function datasetOf(el) {
    const data = { id: el.dataset.id, label: el.dataset.label };
    ADDRESS.forEach(function (name) { data[name] = el.dataset[name.replace(/_(\w)/g, (m, c) => c.toUpperCase())] || ""; });
    return data;
  }

  document.addEventListener("click", function (evt) {
    // Grid rows open the ticket (the code cell keeps a real link).
    const row = evt.target.closest("tr[data-href]");
    if (row && !evt.target.closest("a, button, input, select, label")) {
      window.location.href = row.dataset.href;
      return;
    }
    const pick = evt.target.closest("[data-customer-pick]");
    if (pick) {
      evt.preventDefault();
      pickCustomer(datasetOf(pick));
      return;
    }
    const clear = evt.target.closest("[data-customer-clear]");
    if (clear) {
      evt.preventDefault();
      const hidden = document.getElementById("id_customer");
      if (hidden) hidden.value = "";
      const picked = document.getElementById("customer-picked");
      if (picked) picked.hidden = true;
      const search = document.getElementById("customer-search");
      if (search) search.focus();
    }
  });

  // Enter inside the new-customer sub-form creates the customer, not the ticket.
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Enter") return;
    const box = evt.target.closest("#new-customer-fields");
    if (box && evt.target.tagName === "INPUT") {
      evt.preventDefault();
      const button = box.querySelector("[data-customer-create]");
      if (button) button.click();
    }
    if (evt.target.id === "customer-search") evt.preventDefault();
  });

  function onLoad(root) {
    // A customer just created by the sub-form becomes the chosen one.
    root.querySelectorAll("[data-customer-created]").forEach(function (el) {
      pickCustomer(datasetOf(el));
      el.remove();
    });
    // A tool form that came back with errors keeps its modal open and focuses the first error.
    root.querySelectorAll(".is-invalid").forEach(function (el, index) {
      if (index === 0 && typeof el.focus === "function") el.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      htmx.onLoad(onLoad);
    } else {
      onLoad(document);
    }
  });
})();
