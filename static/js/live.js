// Live screens: one websocket per page (htmx's websocket extension on #live-socket).
//
// The page says what it shows (the grid's view and query string, or the ticket
// it is) and the server answers every change with HTML fragments that htmx
// swaps in place by id (hx-swap-oob). After a reconnect the page asks for a
// resync: the server sends its live parts as the database has them now. No
// polling anywhere.
(function () {
  "use strict";

  var socket = null;      // the extension's socket wrapper (send / reconnect)
  var opened = false;     // opened at least once: the next open is a reconnect
  var lastGrid = "";      // the last grid subscription sent (avoid repeats)
  var retryTimer = null;

  function liveRoot() { return document.getElementById("live-socket"); }

  function setStatus(state) {
    var el = document.getElementById("live-status");
    if (!el) { return; }
    el.dataset.state = state;
    var label = el.dataset["label" + state.charAt(0).toUpperCase() + state.slice(1)] || state;
    el.title = label;
    el.setAttribute("aria-label", label);
    var text = el.querySelector(".live-status-text");
    if (text) { text.textContent = label; }
  }

  function gridMessage(resync) {
    var grid = document.getElementById("grid");
    if (!grid || !grid.dataset.view) { return null; }
    return {action: "grid", view: grid.dataset.view, query: window.location.search.replace(/^\?/, ""), resync: !!resync};
  }

  function ticketMessage(resync) {
    var page = document.querySelector("[data-live-ticket]");
    if (!page) { return null; }
    return {action: "ticket", ticket: page.dataset.liveTicket, resync: !!resync};
  }

  function send(message) {
    if (socket && message) { socket.send(JSON.stringify(message)); }
  }

  // Pages of the panel without a flat grid (the tree, the pivot): only the badges are live.
  function countsMessage(resync) {
    var tabs = document.querySelector("[data-live-tab]");
    if (!tabs) { return null; }
    return {action: "counts", tab: tabs.dataset.liveTab, resync: !!resync};
  }

  function subscribe(resync) {
    var grid = gridMessage(resync);
    if (grid) {
      lastGrid = JSON.stringify([grid.view, grid.query]);
      send(grid);
    } else {
      send(countsMessage(resync));
    }
    send(ticketMessage(resync));
  }

  // After the user sorts, filters or pages (an htmx swap of #grid that pushes
  // the URL), tell the server what the page shows now.
  function gridChanged() {
    var grid = gridMessage(false);
    if (!grid) { return; }
    var key = JSON.stringify([grid.view, grid.query]);
    if (key !== lastGrid) {
      lastGrid = key;
      send(grid);
    }
  }

  function flashChanged() {
    document.querySelectorAll("[data-live-changed]").forEach(function (el) {
      el.removeAttribute("data-live-changed");
      el.classList.remove("live-flash");
      void el.offsetWidth; // restart the animation
      el.classList.add("live-flash");
      setTimeout(function () { el.classList.remove("live-flash"); }, 2500);
    });
  }

  document.addEventListener("htmx:wsConnecting", function () { setStatus(opened ? "reconnecting" : "connecting"); });

  document.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    var resync = opened;
    opened = true;
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    setStatus("online");
    subscribe(resync);
  });

  document.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail && event.detail.event ? event.detail.event.code : 0;
    if (code === 4401) {
      setStatus("offline");
      return;
    }
    setStatus("reconnecting");
    // The extension retries by itself after an abnormal closure (1006, 1011-1013);
    // a clean close by a stopping server (1000, 1001) is retried here.
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0 && socket && !retryTimer) {
      var wrapper = socket;
      retryTimer = setTimeout(function () { retryTimer = null; wrapper.reconnect(); }, 1500 + Math.random() * 1500);
    }
  });

  document.addEventListener("htmx:wsAfterMessage", flashChanged);

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.elt;
    if (target && (target.id === "grid" || target.closest && target.closest("#grid"))) { gridChanged(); }
  });
  document.addEventListener("htmx:pushedIntoHistory", gridChanged);
  document.addEventListener("htmx:replacedInHistory", gridChanged);
  window.addEventListener("popstate", function () { setTimeout(gridChanged, 0); });

  // The "N novos" notice on a deep page: back to the first page of the same sort and filters.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-live-first-page]");
    if (!link) { return; }
    event.preventDefault();
    var params = new URLSearchParams(window.location.search);
    ["after", "before", "last"].forEach(function (p) { params.delete(p); });
    var url = window.location.pathname + (params.toString() ? "?" + params.toString() : "");
    if (window.htmx) {
      window.htmx.ajax("GET", url, {target: "#grid", swap: "outerHTML"}).then(function () {
        window.history.pushState({}, "", url);
        gridChanged();
      });
    } else {
      window.location.href = url;
    }
  });

  window.liveScreens = {status: function () { return liveRoot() && document.getElementById("live-status").dataset.state; }};
})();
