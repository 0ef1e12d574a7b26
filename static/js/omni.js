// Omnichannel agent glue: presence heartbeat, the live workspace and its clocks.
//
// One plain WebSocket per page to /ws/omni/agent/ (not htmx's websocket
// extension: live.js listens to every extension socket of the page and must keep
// #live-socket for itself). The server sends HTML fragments marked hx-swap-oob,
// rendered for this viewer; htmx.swap applies them. While the tab is open it
// sends a heartbeat; the server's presence sweep takes the agent out of routing
// once the last tab has been gone longer than the grace time.
(function () {
  "use strict";

  var root = document.getElementById("omni-socket");
  if (!root || !window.WebSocket) { return; }

  var socket = null;
  var opened = false;
  var retryDelay = 1000;
  var beatSeconds = Math.max(5, parseInt(root.dataset.heartbeat, 10) || 25);
  var beatTimer = null;
  var pending = {};  // composer texts sent over the socket, by nonce, until the server says stored
  var sequence = 0;

  function workspace() { return document.querySelector("[data-omni-workspace]"); }
  function pane() { return document.getElementById("omni-pane"); }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(message)); }
  }

  function lastMessageId() {
    var box = document.querySelector("[data-omni-messages]");
    var last = 0;
    if (box) {
      box.querySelectorAll("[data-message-id]").forEach(function (el) {
        last = Math.max(last, parseInt(el.dataset.messageId, 10) || 0);
      });
    }
    return last;
  }

  // Tell the server what this workspace shows: the open conversation and its last message.
  function subscribe() {
    if (!workspace()) { return; }
    var current = pane();
    send({action: "workspace", conversation: current && current.dataset.conversation || null, after: lastMessageId()});
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + root.dataset.url);
    socket.addEventListener("open", function () {
      retryDelay = 1000;
      var reconnect = opened;
      opened = true;
      root.dataset.state = "online";
      if (workspace()) { subscribe(); } else if (reconnect) { send({action: "presence"}); }
      if (beatTimer) { clearInterval(beatTimer); }
      beatTimer = setInterval(function () { send({action: "heartbeat"}); }, beatSeconds * 1000);
    });
    socket.addEventListener("message", function (event) {
      var data = String(event.data || "");
      if (data.charAt(0) === "{") { acknowledge(data); } else { apply(data); }
    });
    socket.addEventListener("close", function (event) {
      root.dataset.state = "offline";
      Object.keys(pending).forEach(function (nonce) { settle(nonce, false); });
      if (beatTimer) { clearInterval(beatTimer); beatTimer = null; }
      if (event.code === 4401 || event.code === 4403) { return; }
      setTimeout(connect, retryDelay + Math.random() * 1000);
      retryDelay = Math.min(retryDelay * 2, 15000);
    });
  }

  function nearBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 120; }

  function apply(html) {
    if (!html || !window.htmx) { return; }
    var box = document.querySelector("[data-omni-messages]");
    var stick = box ? nearBottom(box) : false;
    window.htmx.swap(document.body, html, {swapStyle: "none"});
    tidyMessages(stick);
    tick();
  }

  // A reply arrives twice (the HTTP answer and the socket): keep the first copy.
  function tidyMessages(scroll) {
    var box = document.querySelector("[data-omni-messages]");
    if (!box) { return; }
    var seen = {};
    box.querySelectorAll("[data-message-id]").forEach(function (el) {
      if (seen[el.dataset.messageId]) { el.remove(); } else { seen[el.dataset.messageId] = true; }
    });
    var current = pane();
    if (current) { current.dataset.lastMessage = String(lastMessageId()); }
    if (scroll) { box.scrollTop = box.scrollHeight; }
  }

  // --- the composer's text over the socket -------------------------------------------------------
  // A text reply or internal note goes over the open socket (no HTTP request per message); a
  // message with files, or any message while the socket is down, goes by the form's POST.
  // The text stays in the box until the server answers {"sent": nonce}; a refusal comes back
  // as the composer itself, carrying the error and the text.
  function settle(nonce, stored) {
    var entry = pending[nonce];
    if (!entry) { return; }
    delete pending[nonce];
    clearTimeout(entry.timer);
    if (entry.button) { entry.button.disabled = false; }
    if (stored && entry.area.isConnected && entry.area.value === entry.body) {
      entry.area.value = "";
      entry.area.focus();
    }
  }

  function acknowledge(data) {
    var message;
    try { message = JSON.parse(data); } catch (e) { return; }
    if (message && message.sent !== undefined) { settle(String(message.sent), true); }
  }

  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail && event.detail.elt;
    if (!form || form.id !== "omni-composer" || !form.dataset.conversation) { return; }
    if (!socket || socket.readyState !== WebSocket.OPEN) { return; }
    var files = form.querySelector("[data-omni-files]");
    if (files && files.files && files.files.length) { return; }
    var area = form.querySelector("[data-omni-body]");
    if (!area || !area.value.trim()) { return; }  // the POST answers "Escreva a mensagem."
    event.preventDefault();
    var button = form.querySelector("button[type='submit']");
    if (button && button.disabled) { return; }
    var kind = form.querySelector("input[name='note']:checked");
    var nonce = String(++sequence);
    pending[nonce] = {
      area: area, body: area.value, button: button,
      timer: setTimeout(function () { settle(nonce, false); }, 15000),
    };
    if (button) { button.disabled = true; }
    send({action: "send", conversation: form.dataset.conversation, body: area.value,
          note: !!(kind && kind.value), nonce: nonce});
  });

  // --- clocks: time in the current state, waiting times --------------------------------------
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function elapsed(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-omni-since]").forEach(function (el) {
      var since = Date.parse(el.dataset.omniSince);
      if (isNaN(since)) { return; }
      var seconds = (now - since) / 1000;
      el.textContent = elapsed(seconds);
      // Tempo no estado: Baixo ≤ 5 min, Médio 5–30 min, Alto > 30 min (DOMAIN.md).
      el.dataset.level = seconds <= 300 ? "low" : (seconds <= 1800 ? "medium" : "high");
    });
    // The wrap-up time ran out by itself: its banner and badge go.
    document.querySelectorAll("[data-omni-until]").forEach(function (el) {
      var until = Date.parse(el.dataset.omniUntil);
      if (!isNaN(until) && now >= until) { el.remove(); }
    });
  }
  setInterval(tick, 1000);

  // --- the composer: Enter sends, Shift+Enter breaks the line ----------------------------------
  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (!area.matches || !area.matches("[data-omni-body]")) { return; }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (area.value.trim() && area.form) { area.form.requestSubmit(); }
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.id) { tick(); return; }
    if (elt.id === "omni-pane") {
      // Another conversation was opened (or the pane changed): follow it.
      tidyMessages(true);
      subscribe();
      var body = document.querySelector("[data-omni-body]");
      if (body) { body.focus(); }
    } else if (elt.id === "omni-composer") {
      tidyMessages(true);
      var input = elt.querySelector("[data-omni-body]");
      if (input) { input.focus(); }
    }
    tick();
  });
  window.addEventListener("popstate", function () { setTimeout(subscribe, 0); });

  document.addEventListener("DOMContentLoaded", function () {
    tidyMessages(true);
    tick();
  });
  if (document.readyState !== "loading") { tidyMessages(true); tick(); }

  connect();
  window.omniAgent = {state: function () { return root.dataset.state || "connecting"; }};
})();
