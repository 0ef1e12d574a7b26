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
    var form = event.target.closest ? event.target.closest("form.widget-composer") : null;
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
