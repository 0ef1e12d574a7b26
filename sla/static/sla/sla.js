/* SLA history grid: double-click (or Enter on a focused row) opens the row's details.
   Inside the history modal the details replace the grid (htmx); elsewhere the
   browser goes to the details page. No inline script: CSP allows 'self' only. */
(function () {
  "use strict";

  function openDetail(row) {
    const url = row.dataset.slaDetail;
    const body = row.closest("#sla-history-body");
    if (body && window.htmx) {
      window.htmx.ajax("GET", url, { target: "#sla-history-body", swap: "innerHTML" });
    } else {
      window.location.href = url;
    }
  }

  document.addEventListener("dblclick", function (evt) {
    const row = evt.target.closest("tr[data-sla-detail]");
    if (row) openDetail(row);
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Enter") return;
    const row = evt.target.closest("tr[data-sla-detail]");
    if (row) {
      evt.preventDefault();
      openDetail(row);
    }
  });
})();
