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
        if (button.dataset.rowTool === "resend") enabled = Boolean(row.dataset.ticketId);
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
      } else if (tool.dataset.rowTool === "resend") {
        // The form (htmx) posts the selected ticket; the answer is the alert under the toolbar.
        const input = tool.form && tool.form.querySelector("[data-resend-ticket]");
        if (input) input.value = current.dataset.ticketId;
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

/* "Processo x Subprocesso": + / − open and close a process (its subprocesses,
   already on the page) or a subprocess (its rows, fetched on first opening). */
(function () {
  "use strict";

  function childrenOf(token) {
    return Array.from(document.querySelectorAll('#grid tr[data-parent="' + CSS.escape(token) + '"]'));
  }

  function setExpanded(row, expanded) {
    row.setAttribute("aria-expanded", expanded ? "true" : "false");
    const button = row.querySelector("[data-tree-toggle]");
    if (!button) return;
    button.setAttribute("aria-expanded", expanded ? "true" : "false");
    const icon = button.querySelector(".bi");
    if (icon) {
      icon.classList.toggle("bi-plus-square", !expanded);
      icon.classList.toggle("bi-dash-square", expanded);
    }
    const label = button.getAttribute("aria-label") || "";
    const expandWord = document.documentElement.lang.startsWith("pt") ? ["Expandir", "Recolher"] : ["Expand", "Collapse"];
    button.setAttribute("aria-label", label.replace(expanded ? expandWord[0] : expandWord[1], expanded ? expandWord[1] : expandWord[0]));
  }

  function collapse(row) {
    setExpanded(row, false);
    childrenOf(row.dataset.node).forEach(function (child) {
      child.hidden = true;
      if (child.dataset.node) collapse(child);
    });
  }

  function expand(row) {
    setExpanded(row, true);
    if (row.dataset.leafUrl) {
      if (row.dataset.loaded === "1") {
        childrenOf(row.dataset.node).forEach(function (child) { child.hidden = false; });
      } else if (window.htmx) {
        row.dataset.loaded = "1";
        row.classList.add("is-loading");
        htmx.ajax("GET", row.dataset.leafUrl, { target: row, swap: "afterend" }).then(function () {
          row.classList.remove("is-loading");
        });
      }
      return;
    }
    childrenOf(row.dataset.node).forEach(function (child) { child.hidden = false; });
  }

  document.addEventListener("click", function (evt) {
    // The + / − button, or a click anywhere else on a group row.
    const group = evt.target.closest("#grid tr.tree-group");
    if (group && (evt.target.closest("[data-tree-toggle]") || !evt.target.closest("a, button, input, select, label"))) {
      if (group.getAttribute("aria-expanded") === "true") collapse(group); else expand(group);
      return;
    }
    const all = evt.target.closest("#grid [data-tree-all]");
    if (all) {
      document.querySelectorAll("#grid tr.tree-level-0").forEach(function (row) {
        if (all.dataset.treeAll === "expand") expand(row); else collapse(row);
      });
    }
  });

  // Enter / Space / ← / → on a group row's toggle work like the + / − button.
  document.addEventListener("keydown", function (evt) {
    const toggle = evt.target.closest ? evt.target.closest("#grid [data-tree-toggle]") : null;
    if (!toggle) return;
    const row = toggle.closest("tr");
    if (evt.key === "ArrowRight" && row.getAttribute("aria-expanded") !== "true") { evt.preventDefault(); expand(row); }
    if (evt.key === "ArrowLeft" && row.getAttribute("aria-expanded") === "true") { evt.preventDefault(); collapse(row); }
  });
})();

/* Pivots ("Gráfico sintético", "Informações sintéticas"): the dimensions are
   chips dragged (HTML5 drag and drop, or the arrow keys) between the zones;
   "Aplicar" posts the zones in order; the result's chart is drawn with Chart.js. */
(function () {
  "use strict";

  const ZONES = ["available", "rows", "cols", "filters"];
  let dragged = null;

  function zoneBody(name) {
    return document.querySelector('[data-pivot-config] [data-zone="' + name + '"] .zone-body');
  }

  function chipAfter(container, y, x) {
    const chips = Array.from(container.querySelectorAll(".pivot-chip:not(.is-dragging)"));
    let best = null;
    let bestOffset = Number.NEGATIVE_INFINITY;
    chips.forEach(function (chip) {
      const box = chip.getBoundingClientRect();
      // Chips wrap in lines: compare by line first, then by horizontal position.
      const sameLine = y >= box.top && y <= box.bottom;
      const offset = sameLine ? x - (box.left + box.width / 2) : y - (box.top + box.height / 2);
      if (offset < 0 && offset > bestOffset) {
        bestOffset = offset;
        best = chip;
      }
    });
    return best;
  }

  document.addEventListener("dragstart", function (evt) {
    const chip = evt.target.closest ? evt.target.closest(".pivot-chip") : null;
    if (!chip) return;
    dragged = chip;
    chip.classList.add("is-dragging");
    evt.dataTransfer.effectAllowed = "move";
    evt.dataTransfer.setData("text/plain", chip.dataset.dim);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    document.querySelectorAll(".pivot-zone.is-over").forEach(function (z) { z.classList.remove("is-over"); });
  });

  document.addEventListener("dragover", function (evt) {
    const zone = evt.target.closest ? evt.target.closest(".pivot-zone") : null;
    if (!zone || !dragged) return;
    evt.preventDefault();
    evt.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".pivot-zone.is-over").forEach(function (z) { if (z !== zone) z.classList.remove("is-over"); });
    zone.classList.add("is-over");
  });

  document.addEventListener("drop", function (evt) {
    const zone = evt.target.closest ? evt.target.closest(".pivot-zone") : null;
    if (!zone || !dragged) return;
    evt.preventDefault();
    const body = zone.querySelector(".zone-body");
    const after = chipAfter(body, evt.clientY, evt.clientX);
    body.insertBefore(dragged, after);
    zone.classList.remove("is-over");
  });

  document.addEventListener("keydown", function (evt) {
    const chip = evt.target.classList && evt.target.classList.contains("pivot-chip") ? evt.target : null;
    if (!chip) return;
    const zone = chip.closest(".pivot-zone").dataset.zone;
    const index = ZONES.indexOf(zone);
    if (evt.key === "ArrowRight" || evt.key === "ArrowLeft") {
      evt.preventDefault();
      const next = ZONES[(index + (evt.key === "ArrowRight" ? 1 : ZONES.length - 1)) % ZONES.length];
      zoneBody(next).appendChild(chip);
      chip.focus();
    } else if (evt.key === "ArrowUp" && chip.previousElementSibling) {
      evt.preventDefault();
      chip.parentNode.insertBefore(chip, chip.previousElementSibling);
      chip.focus();
    } else if (evt.key === "ArrowDown" && chip.nextElementSibling) {
      evt.preventDefault();
      chip.parentNode.insertBefore(chip.nextElementSibling, chip);
      chip.focus();
    }
  });

  // The values a filter offers are fetched when its menu first opens.
  document.addEventListener("show.bs.dropdown", function (evt) {
    const holder = evt.target.closest(".chip-filter");
    const menu = holder ? holder.querySelector("[data-options-url]") : null;
    if (!menu || menu.dataset.loaded === "1" || !window.htmx) return;
    menu.dataset.loaded = "1";
    htmx.ajax("GET", menu.dataset.optionsUrl, { target: menu, swap: "innerHTML" });
  });

  // Apply: the zones, in order, become rows / cols / filters; filter values only count in "Filtros".
  document.addEventListener("submit", function (evt) {
    const form = evt.target.closest ? evt.target.closest("[data-pivot-config]") : null;
    if (!form) return;
    form.querySelectorAll("input[data-generated]").forEach(function (input) { input.remove(); });
    ["rows", "cols", "filters"].forEach(function (zone) {
      form.querySelectorAll('[data-zone="' + zone + '"] .pivot-chip').forEach(function (chip) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = zone;
        input.value = chip.dataset.dim;
        input.dataset.generated = "1";
        form.appendChild(input);
      });
    });
    form.querySelectorAll(".pivot-chip").forEach(function (chip) {
      const inFilters = chip.closest('[data-zone="filters"]') !== null;
      chip.querySelectorAll('input[name^="f_"]').forEach(function (input) { input.disabled = !inFilters; });
    });
  });

  const PALETTE = ["#1c4a7a", "#2f9e6e", "#e0a100", "#c4452f", "#6f42c1", "#0d9fb8", "#8a5a44", "#d63384", "#5b6675", "#7cc0ff", "#9bc53d", "#fd7e14"];

  function drawChart() {
    const source = document.getElementById("pivot-data");
    const canvas = document.getElementById("pivot-chart");
    if (!source || !canvas || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    const stacked = data.type === "stacked";
    const line = data.type === "line";
    new window.Chart(canvas, {
      type: line ? "line" : "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (set, i) {
          const color = PALETTE[i % PALETTE.length];
          return { label: set.label, data: set.data, backgroundColor: color, borderColor: color, borderWidth: line ? 2 : 0, tension: 0.2, maxBarThickness: 56 };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: document.documentElement.lang || "pt-BR",
        plugins: {
          legend: { display: data.datasets.length > 1, position: "bottom", labels: { boxWidth: 12 } },
          title: { display: true, text: data.measure },
        },
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true, ticks: data.integer ? { precision: 0 } : {} } },
      },
    });
  }

  if (document.readyState === "complete") drawChart(); else document.addEventListener("DOMContentLoaded", drawChart);
})();
