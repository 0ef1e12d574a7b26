/* The "Painel de atendimento" grid: row selection and opening, keyboard moves,
   header filters that search on change, the toolbar's row tools, the column
   chooser and exports that follow the grid's current querystring.
   No inline handlers (CSP): everything is bound here by data-* attributes. */
(function () {
  "use strict";

  function rows() {
    return Array.from(document.querySelectorAll("#grid tr[data-row]"));
  }

  function selected() {
    return document.querySelector("#grid tr[data-row].is-selected");
  }

  function syncTools() {
    const row = selected();
    document.querySelectorAll("[data-row-tool]").forEach(function (button) {
      let enabled = false;
      if (row) {
        if (button.dataset.rowTool === "edit") enabled = Boolean(row.dataset.editUrl);
        if (button.dataset.rowTool === "sla") enabled = Boolean(button.dataset.urlTemplate);
      }
      button.disabled = !enabled;
    });
  }

  function select(row) {
    rows().forEach(function (r) {
      r.classList.toggle("is-selected", r === row);
      r.setAttribute("aria-selected", r === row ? "true" : "false");
    });
    syncTools();
  }

  function open(row) {
    if (row && row.dataset.openUrl) window.location.href = row.dataset.openUrl;
  }

  document.addEventListener("click", function (evt) {
    const row = evt.target.closest("#grid tr[data-row]");
    if (row && !evt.target.closest("a, button, input, select, label")) {
      select(row);
      return;
    }
    const tool = evt.target.closest("[data-row-tool]");
    if (tool) {
      const current = selected();
      if (!current) return;
      if (tool.dataset.rowTool === "edit" && current.dataset.editUrl) {
        window.location.href = current.dataset.editUrl;
      } else if (tool.dataset.rowTool === "sla" && tool.dataset.urlTemplate) {
        window.location.href = tool.dataset.urlTemplate.replace("/0/", "/" + current.dataset.ticketId + "/");
      }
      return;
    }
    if (evt.target.closest("[data-tool=refresh]")) {
      const form = document.getElementById("grid-form");
      if (window.htmx && form) {
        htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#grid", swap: "outerHTML" });
      } else {
        window.location.reload();
      }
      return;
    }
    const exportLink = evt.target.closest("a[data-export]");
    if (exportLink) {
      // The grid's state lives in the address bar (hx-push-url); export exactly that.
      evt.preventDefault();
      const url = new URL(exportLink.href, window.location.href);
      url.search = window.location.search;
      window.location.href = url.toString();
      return;
    }
    const move = evt.target.closest("[data-move]");
    if (move) {
      const item = move.closest("li");
      if (move.dataset.move === "up" && item.previousElementSibling) {
        item.parentNode.insertBefore(item, item.previousElementSibling);
      } else if (move.dataset.move === "down" && item.nextElementSibling) {
        item.parentNode.insertBefore(item.nextElementSibling, item);
      }
      move.focus();
    }
  });

  document.addEventListener("dblclick", function (evt) {
    const row = evt.target.closest("#grid tr[data-row]");
    if (row && !evt.target.closest("a, button, input, select, label")) open(row);
  });

  document.addEventListener("keydown", function (evt) {
    const row = evt.target.closest ? evt.target.closest("#grid tr[data-row]") : null;
    if (!row || evt.target !== row) return;
    const all = rows();
    const index = all.indexOf(row);
    if (evt.key === "Enter") {
      evt.preventDefault();
      open(row);
    } else if (evt.key === "ArrowDown" && index < all.length - 1) {
      evt.preventDefault();
      all[index + 1].focus();
    } else if (evt.key === "ArrowUp" && index > 0) {
      evt.preventDefault();
      all[index - 1].focus();
    } else if (evt.key === " ") {
      evt.preventDefault();
      select(row);
    }
  });

  // Focus selects, so the keyboard user gets the same toolbar as the mouse user.
  document.addEventListener("focusin", function (evt) {
    const row = evt.target.closest ? evt.target.closest("#grid tr[data-row]") : null;
    if (row && evt.target === row) select(row);
  });

  // Header filters search on change (select, date) or Enter (text, native submit).
  document.addEventListener("change", function (evt) {
    const form = document.getElementById("grid-form");
    if (!form || !form.contains(evt.target)) return;
    if (evt.target.matches("select, input[type=date], input[type=number]")) {
      form.requestSubmit();
    }
  });

  // Keep the address bar clean: drop the empty filters from the request.
  document.addEventListener("htmx:configRequest", function (evt) {
    if (!evt.detail.elt || evt.detail.elt.id !== "grid-form") return;
    const params = evt.detail.parameters;
    const keys = params && typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params || {});
    keys.forEach(function (key) {
      const values = typeof params.getAll === "function" ? params.getAll(key) : [params[key]];
      if (values.every(function (v) { return v === "" || v === undefined; })) {
        if (typeof params.delete === "function") params.delete(key); else delete params[key];
      }
    });
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "grid") syncTools();
  });
})();
