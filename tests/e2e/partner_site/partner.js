// A partner page as the README tells partners to write it: frame the app, listen for its
// postMessage events, trust only the app's origin, and act on them as the README's snippet does
// (the switch below is that snippet's, so the tests prove what partners copy).
// Test hooks: every message received (whatever its origin) is kept in window.__messages, the
// heights applied in window.__heights, and the scroll-top requests acted on in window.__scrolls.
// ?below=<px> puts partner content under the frame (a real page has a footer), so a frame that
// shrinks does not simply pull the partner page's scroll position back up with it.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var src = params.get("src");
  var APP_ORIGIN = new URL(src).origin;
  var frame = document.createElement("iframe");
  frame.id = "connect";
  frame.title = "Connect your energy tariff";
  frame.src = src;
  if (params.get("allow") !== null) {
    frame.setAttribute("allow", params.get("allow"));
  }
  document.getElementById("slot").appendChild(frame);
  var below = parseInt(params.get("below") || "0", 10);
  if (below > 0) {
    var footer = document.getElementById("below");
    footer.hidden = false;
    footer.style.height = below + "px";
  }

  function status(text) {
    document.getElementById("status").textContent = text;
  }

  window.__messages = [];
  window.__heights = [];
  window.__scrolls = [];
  window.addEventListener("message", function (event) {
    window.__messages.push({ origin: event.origin, data: event.data });
    // The README's snippet from here on.
    if (event.origin !== APP_ORIGIN || event.source !== frame.contentWindow) return;
    var msg = event.data || {};
    if (msg.source !== "flatpeak-connect") return;
    switch (msg.type) {
      case "ready":
        break;
      case "page":
        break;
      case "resize":
        frame.style.height = Math.ceil(msg.height) + "px";
        window.__heights.push(msg.height);
        break;
      case "scroll-top":
        window.__scrolls.push(frame.getBoundingClientRect().top);
        if (frame.getBoundingClientRect().top < 0) frame.scrollIntoView({ block: "start" });
        break;
      case "complete":
        status("Tariff connected.");
        break;
      case "close":
        status("Tariff connection closed.");
        break;
    }
  });
})();
