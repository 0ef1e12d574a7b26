// The composer of the omnichannel workspace: the "/" popup of mensagens pré-salvas and the
// chips of the files chosen to attach.
//
// Typing "/" at the start of a word in the message box asks the server for the canned
// responses matching what follows (an HTML listbox, escaped by the template); arrows move,
// Enter or Tab (or a click) replaces "/atalho" with the text, Esc closes. Everything is
// delegated from the document: htmx swaps the composer after each send.
(function () {
  "use strict";

  var BODY = "[data-omni-body]";
  var DEBOUNCE_MS = 120;
  var state = null; // {area, popup, token: {start, end, query}, options, active}
  var seq = 0;
  var timer = null;

  function popupOf(area) {
    var form = area.form || area.closest("form");
    return form ? form.querySelector("[data-omni-canned-popup]") : null;
  }

  function statusOf(area) {
    var form = area.form || area.closest("form");
    return form ? form.querySelector("[data-omni-canned-status]") : null;
  }

  // "/" + shortcut just before the caret, at the start of the text or after a space.
  function tokenAt(area) {
    if (area.selectionStart !== area.selectionEnd) { return null; }
    var caret = area.selectionStart;
    var match = /(^|\s)\/([\w-]{0,40})$/.exec(area.value.slice(0, caret));
    if (!match) { return null; }
    return {start: caret - match[2].length - 1, end: caret, query: match[2]};
  }

  function close() {
    if (!state) { return; }
    var area = state.area;
    if (state.popup) { state.popup.hidden = true; state.popup.innerHTML = ""; }
    area.removeAttribute("aria-activedescendant");
    state = null;
  }

  function highlight(index) {
    if (!state || !state.options.length) { return; }
    var count = state.options.length;
    state.active = (index + count) % count;
    state.options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === state.active ? "true" : "false");
    });
    var current = state.options[state.active];
    state.area.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({block: "nearest"});
  }

  function show(area, token, html) {
    var popup = popupOf(area);
    if (!popup) { return; }
    popup.innerHTML = html;
    var options = Array.prototype.slice.call(popup.querySelectorAll("[role=option]"));
    state = {area: area, popup: popup, token: token, options: options, active: 0};
    popup.hidden = false;
    if (options.length) { highlight(0); } else { area.removeAttribute("aria-activedescendant"); }
    var status = statusOf(area);
    var list = popup.querySelector("[data-status]");
    if (status) { status.textContent = list ? list.dataset.status : ""; }
  }

  function lookup(area) {
    var token = tokenAt(area);
    if (!token) { close(); return; }
    var url = area.dataset.omniCanned;
    if (!url) { return; }
    var mine = ++seq;
    fetch(url + "?q=" + encodeURIComponent(token.query), {
      credentials: "same-origin",
      headers: {"X-Requested-With": "XMLHttpRequest"}
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (mine !== seq || html === null || document.activeElement !== area) { return; }
      var now = tokenAt(area);
      if (!now || now.start !== token.start) { close(); return; }
      token.end = now.end;
      show(area, token, html);
    }).catch(function () { /* offline: no popup, typing goes on */ });
  }

  function pick(option) {
    if (!state || !option) { return; }
    var area = state.area;
    var token = tokenAt(area) || state.token;
    var text = option.dataset.body || "";
    area.value = area.value.slice(0, token.start) + text + area.value.slice(token.end);
    var caret = token.start + text.length;
    close();
    area.focus();
    area.setSelectionRange(caret, caret);
  }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!area.matches || !area.matches(BODY)) { return; }
    if (timer) { clearTimeout(timer); }
    if (!tokenAt(area)) { close(); return; }
    timer = setTimeout(function () { lookup(area); }, DEBOUNCE_MS);
  });

  // Capture phase: runs before omni.js's "Enter sends", and stops it while the popup is open.
  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (!area.matches || !area.matches(BODY) || event.isComposing) { return; }
    var open = state && state.area === area && !state.popup.hidden;
    var handled = false;
    if (open) {
      if (event.key === "ArrowDown") { highlight(state.active + 1); handled = true; }
      else if (event.key === "ArrowUp") { highlight(state.active - 1); handled = true; }
      else if (event.key === "Escape") { close(); handled = true; }
      else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
        if (state.options.length) { pick(state.options[state.active]); handled = true; } else { close(); }
      }
    } else if (event.key === "Enter" && !event.shiftKey && !area.value.trim()) {
      // Files only, no text: Enter sends them too.
      var files = area.form && area.form.querySelector("[data-omni-files]");
      if (files && files.files && files.files.length) {
        event.preventDefault();
        event.stopPropagation();
        area.form.requestSubmit();
        return;
      }
    }
    if (handled) { event.preventDefault(); event.stopPropagation(); }
  }, true);

  // mousedown, not click: the textarea keeps the focus (and its caret).
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest("[data-omni-canned-popup] [role=option]");
    if (option && state) { event.preventDefault(); pick(option); }
  });

  document.addEventListener("focusout", function (event) {
    if (state && event.target === state.area) { setTimeout(function () { if (state && document.activeElement !== state.area) { close(); } }, 150); }
  });

  // --- attachments: chips of the chosen files, each removable ---------------------------------
  function formatSize(bytes) {
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(0) + " KB"; }
    return (bytes / (1024 * 1024)).toFixed(1).replace(".", ",") + " MB";
  }

  function renderChips(input) {
    var form = input.form;
    var box = form && form.querySelector("[data-omni-chips]");
    if (!box) { return; }
    box.textContent = "";
    var removeLabel = box.dataset.removeLabel || "Remover";
    Array.prototype.forEach.call(input.files || [], function (file, index) {
      var chip = document.createElement("span");
      chip.className = "badge rounded-pill text-bg-light border d-inline-flex align-items-center gap-1 omni-file-chip";
      chip.dataset.omniFileChip = "";
      var icon = document.createElement("i");
      icon.className = "bi bi-paperclip";
      icon.setAttribute("aria-hidden", "true");
      var label = document.createElement("span");
      label.textContent = file.name + " (" + formatSize(file.size) + ")";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn-close";
      remove.setAttribute("aria-label", removeLabel + " " + file.name);
      remove.addEventListener("click", function () { removeFile(input, index); });
      chip.appendChild(icon);
      chip.appendChild(label);
      chip.appendChild(remove);
      box.appendChild(chip);
    });
  }

  function removeFile(input, index) {
    if (typeof DataTransfer === "undefined") { input.value = ""; renderChips(input); return; }
    var keep = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (file, i) { if (i !== index) { keep.items.add(file); } });
    input.files = keep.files;
    renderChips(input);
    input.focus();
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches("[data-omni-files]")) { renderChips(input); }
  });

  // The composer was swapped (sent, refused, pushed): the popup it held is gone.
  document.addEventListener("htmx:beforeSwap", function () { close(); });
})();
