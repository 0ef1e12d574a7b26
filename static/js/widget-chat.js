// The live-chat widget's page glue (the chat itself runs over htmx's websocket extension).
//
// Shows the socket's state, sends on Enter (Shift+Enter: new line), clears the box
// after sending, grows it with the text, keeps the newest message in view, and tells
// the embedding page (static/js/widget.js) that a new message arrived.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  // static/js/widget.js says when its panel is full screen (phones): room for its close button.
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.source !== "omni-widget-host") { return; }
    document.documentElement.classList.toggle("is-fullscreen-embed", !!event.data.fullscreen);
  });

  function setConnection(state) {
    var el = byId("widget-connection");
    if (!el) { return; }
    el.dataset.state = state;
    var label = el.dataset["label" + state.charAt(0).toUpperCase() + state.slice(1)] || state;
    el.title = label;
    var text = el.querySelector(".widget-connection-text");
    if (text) { text.textContent = label; }
  }

  function scrollToEnd() {
    var list = byId("widget-messages");
    if (list) { list.scrollTop = list.scrollHeight; }
  }

  function grow(box) {
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight, 140) + "px";
  }

  function notifyParent(kind) {
    if (window.parent && window.parent !== window) {
      window.parent.postMessage({source: "omni-widget", kind: kind}, "*");
    }
  }

  document.addEventListener("htmx:wsOpen", function () { setConnection("online"); });
  document.addEventListener("htmx:wsClose", function () { setConnection("offline"); });
  document.addEventListener("htmx:wsError", function () { setConnection("offline"); });

  document.addEventListener("htmx:wsAfterSend", function (event) {
    var form = event.target.closest ? event.target.closest("form.widget-composer-form") : null;
    if (form) {
      form.reset();
      var box = form.querySelector("textarea");
      if (box) { grow(box); box.focus(); }
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "widget-messages") {
      scrollToEnd();
      if (target.lastElementChild && !target.lastElementChild.classList.contains("widget-msg-customer")) {
        notifyParent("message");
      }
    }
  });

  // Files go by HTTP (form#widget-upload); the message itself comes back over the socket.
  // A refusal (4xx) carries the alert line to show, in pt-BR: swap it like a success.
  function uploadForm(detail) {
    var elt = detail && detail.requestConfig && detail.requestConfig.elt;
    return elt && elt.id === "widget-upload" ? elt : null;
  }

  function showAlert(text) {
    var alert = byId("widget-alert");
    if (!alert) { return; }
    alert.textContent = text;
    alert.classList.toggle("is-visible", !!text);
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!uploadForm(detail)) { return; }
    var status = detail.xhr.status;
    if (status >= 400 && status < 500 && detail.xhr.responseText.indexOf('id="widget-alert"') !== -1) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = uploadForm(event.detail);
    if (!form) { return; }
    form.reset();
    // Not successful: a 5xx, or no answer at all (network down; htmx leaves the flag unset).
    if (!event.detail.successful) { showAlert(form.dataset.errorLabel || ""); }
  });

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (box.id !== "widget-body" || event.key !== "Enter" || event.shiftKey || event.isComposing) { return; }
    event.preventDefault();
    if (box.value.trim() && box.form) { box.form.requestSubmit(); }
  });

  document.addEventListener("input", function (event) {
    if (event.target.id === "widget-body") { grow(event.target); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    scrollToEnd();
    var box = byId("widget-body");
    if (box && window.matchMedia("(min-width: 576px)").matches) { box.focus(); }
  });
})();
