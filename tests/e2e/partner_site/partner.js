// A partner page as the README tells partners to write it: frame the app, listen for its
// postMessage events, trust only the app's origin, and size the iframe from the height events.
// Test hooks: every message received (whatever its origin) is kept in window.__messages, and the
// heights applied in window.__heights.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var src = params.get("src");
  var appOrigin = new URL(src).origin;
  var frame = document.createElement("iframe");
  frame.id = "connect";
  frame.title = "Connect your energy tariff";
  frame.src = src;
  if (params.get("allow") !== null) {
    frame.setAttribute("allow", params.get("allow"));
  }
  document.getElementById("slot").appendChild(frame);

  window.__messages = [];
  window.__heights = [];
  window.addEventListener("message", function (event) {
    window.__messages.push({ origin: event.origin, data: event.data });
    if (event.origin !== appOrigin || event.source !== frame.contentWindow) {
      return;
    }
    var msg = event.data || {};
    var type = String(msg.type || "");
    if (/height|resize/.test(type) && typeof msg.height === "number") {
      frame.style.height = Math.ceil(msg.height) + "px";
      window.__heights.push(msg.height);
    }
    if (/complete/.test(type)) {
      document.getElementById("status").textContent = "Tariff connected.";
    } else if (/close|cancel/.test(type)) {
      document.getElementById("status").textContent = "Tariff connection closed.";
    }
  });
})();
