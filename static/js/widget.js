/*
 * Live-chat widget loader: a floating button that opens the chat page of one entry
 * point in an iframe. Put on any page of the site:
 *
 *   <script src="https://atendimento.example.com.br/static/js/widget.js"
 *           data-entry-point="site" async></script>
 *
 * Optional: data-label (button text for screen readers), data-color (button colour),
 * data-chat-url (the chat page's address when static files live on another host).
 * No cookies or storage of its own on the host page; the chat lives in the iframe.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__omniWidgetLoaded) { return; }
  window.__omniWidgetLoaded = true;

  var entry = (script.dataset.entryPoint || "site").replace(/[^\w-]/g, "");
  var chatUrl = script.dataset.chatUrl || new URL("/chat/" + entry + "/", script.src).href;
  var chatOrigin = new URL(chatUrl).origin;
  var color = script.dataset.color || "#2f7de1";
  var label = script.dataset.label || "Abrir o chat de atendimento";
  var closeLabel = script.dataset.closeLabel || "Fechar o chat";
  var ICON_CHAT = '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" fill="currentColor"><path d="M12 3C6.5 3 2 6.6 2 11c0 2.2 1.1 4.2 3 5.6V21l4.1-2.3c.9.2 1.9.3 2.9.3 5.5 0 10-3.6 10-8s-4.5-8-10-8Zm-4 9.3a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Z"/></svg>';
  var ICON_CLOSE = '<svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" fill="currentColor"><path d="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4Z"/></svg>';

  function css(el, styles) {
    for (var key in styles) { if (Object.prototype.hasOwnProperty.call(styles, key)) { el.style[key] = styles[key]; } }
    return el;
  }

  var button = css(document.createElement("button"), {
    position: "fixed", right: "20px", bottom: "20px", width: "60px", height: "60px", borderRadius: "50%",
    border: "0", background: color, color: "#fff", cursor: "pointer", zIndex: "2147483000",
    boxShadow: "0 6px 20px rgba(16,24,40,.28)", display: "flex", alignItems: "center", justifyContent: "center",
    padding: "0", transition: "transform .15s ease"
  });
  button.type = "button";
  button.id = "omni-widget-button";
  button.setAttribute("aria-label", label);
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "omni-widget-panel");
  button.innerHTML = ICON_CHAT;

  var badge = css(document.createElement("span"), {
    position: "absolute", top: "4px", right: "4px", width: "14px", height: "14px", borderRadius: "50%",
    background: "#e5484d", border: "2px solid #fff", display: "none"
  });
  button.appendChild(badge);

  var panel = css(document.createElement("div"), {
    position: "fixed", zIndex: "2147483000", background: "#fff", overflow: "hidden", display: "none",
    boxShadow: "0 12px 40px rgba(16,24,40,.25)"
  });
  panel.id = "omni-widget-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", label);

  var frame = null;
  var open = false;

  // Tell the chat page whether it is full screen (the close button then covers its header's end).
  function tellFrame(small) {
    if (frame && frame.contentWindow) {
      frame.contentWindow.postMessage({source: "omni-widget-host", fullscreen: small}, chatOrigin);
    }
  }

  function layout() {
    var small = window.innerWidth < 600;
    tellFrame(small);
    css(panel, small
      ? {left: "0", top: "0", right: "0", bottom: "0", width: "100%", height: "100%", borderRadius: "0"}
      : {left: "auto", top: "auto", right: "20px", bottom: "92px", width: "380px", height: "min(640px, calc(100vh - 120px))", borderRadius: "16px"});
    // Full screen on phones: the button moves over the chat's header as its close button.
    css(button, small && open
      ? {top: "10px", right: "10px", bottom: "auto", width: "40px", height: "40px", boxShadow: "none", background: "transparent"}
      : {top: "auto", right: "20px", bottom: "20px", width: "60px", height: "60px", boxShadow: "0 6px 20px rgba(16,24,40,.28)", background: color});
  }

  function toggle(show) {
    open = show;
    if (show && !frame) {
      frame = css(document.createElement("iframe"), {width: "100%", height: "100%", border: "0", display: "block"});
      frame.src = chatUrl;
      frame.addEventListener("load", function () { tellFrame(window.innerWidth < 600); });
      frame.title = label;
      frame.allow = "clipboard-write";
      panel.appendChild(frame);
    }
    panel.style.display = show ? "block" : "none";
    button.innerHTML = show ? ICON_CLOSE : ICON_CHAT;
    button.appendChild(badge);
    button.setAttribute("aria-expanded", show ? "true" : "false");
    button.setAttribute("aria-label", show ? closeLabel : label);
    if (show) { badge.style.display = "none"; }
    layout();
  }

  button.addEventListener("click", function () { toggle(!open); });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape" && open) { toggle(false); button.focus(); } });
  window.addEventListener("resize", layout);
  window.addEventListener("message", function (event) {
    if (event.origin !== chatOrigin || !event.data || event.data.source !== "omni-widget") { return; }
    if (event.data.kind === "message" && !open) { badge.style.display = "block"; }
  });

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(button);
    layout();
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
