// Filtro de e-mail: "select all" and the count of selected e-mails. Delegated on the
// document, so it keeps working after htmx swaps the panel (Atualizar, Aceitar, Excluir).
(function () {
  "use strict";

  function boxes() {
    return Array.from(document.querySelectorAll("#email-filter-table input[name=ids]"));
  }

  function refresh() {
    const label = document.getElementById("email-filter-selected");
    const all = document.getElementById("email-filter-all");
    const list = boxes();
    const checked = list.filter((b) => b.checked).length;
    if (label) label.textContent = checked ? label.dataset.template.replace("__N__", String(checked)) : "";
    if (all) {
      all.checked = list.length > 0 && checked === list.length;
      all.indeterminate = checked > 0 && checked < list.length;
    }
  }

  document.addEventListener("change", function (evt) {
    const target = evt.target;
    if (target.id === "email-filter-all") {
      boxes().forEach((b) => { b.checked = target.checked; });
      refresh();
    } else if (target.matches("#email-filter-table input[name=ids]")) {
      refresh();
    }
  });
  document.addEventListener("htmx:afterSwap", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
})();
