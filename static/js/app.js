/* Connect your tariff: small progressive enhancements on top of plain forms and htmx.
 *
 * Everything here is optional: every page works with JavaScript off. No framework, no eval, no
 * inline handlers (the Content-Security-Policy forbids them); texts come from data attributes
 * the server rendered through gettext, so they are translated like everything else.
 */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;
  root.classList.add("js");

  var SOURCE = "flatpeak-connect";
  var pendingFocus = null; // id of the element to focus after the next swap, if not the <h1>
  var lastHeight = 0;

  function body() {
    return doc.body;
  }

  function message(name, fallback) {
    var value = body() && body().dataset[name];
    return value || fallback;
  }

  /* ---- postMessage to the partner page (only when framed, only to its origin) ---------- */

  function parentOrigin() {
    var origin = body() ? body().dataset.parentOrigin : "";
    return origin && /^https?:\/\/[^/\s]+$/.test(origin) ? origin : "";
  }

  function post(type, extra) {
    var origin = parentOrigin();
    if (window.parent === window || !origin) {
      return;
    }
    var data = { source: SOURCE, type: type };
    if (extra) {
      Object.keys(extra).forEach(function (key) {
        data[key] = extra[key];
      });
    }
    try {
      window.parent.postMessage(data, origin);
    } catch (err) {
      /* A closed or navigated parent: nothing to tell. */
    }
  }

  function currentRoute() {
    var page = doc.querySelector("#page [data-route]");
    return page ? page.getAttribute("data-route") : "";
  }

  function announcePageEvents() {
    var route = currentRoute();
    if (route) {
      post("page", { route: route });
    }
    var marked = doc.querySelector("#page [data-event]") || doc.querySelector("[data-event]");
    if (marked) {
      var type = marked.getAttribute("data-event");
      if (type === "complete" || type === "close") {
        var outcome = marked.getAttribute("data-outcome");
        post(type, outcome ? { outcome: outcome } : null);
      }
    }
  }

  /* The height the partner should give the frame: the content's own, never the viewport's.
     documentElement.scrollHeight is at least the frame's current height, so a frame sized
     from it could only ever grow (978 -> 1764, then 1764 for every shorter page). The body
     has no min-height and no margin (app.css), so its box is exactly what the page shows. */
  function contentHeight() {
    var page = body();
    if (!page) {
      return 0;
    }
    return Math.ceil(page.getBoundingClientRect().height);
  }

  function reportHeight() {
    var height = contentHeight();
    if (height && height !== lastHeight) {
      lastHeight = height;
      post("resize", { height: height });
    }
  }

  /* A new page starts at its top, but the partner page around the frame stays where it was
     scrolled: after "Continue" at the bottom of a long page, or "Confirm and save", the next
     page would be out of sight above. The partner's snippet scrolls the frame's top into view
     on this message (only when it is above the viewport). Sent after the height, so the
     partner has resized the frame before it scrolls. */
  function askForTop() {
    reportHeight();
    post("scroll-top");
  }

  /* ---- busy buttons -------------------------------------------------------------------- */

  function setBusy(button) {
    if (!button || button.getAttribute("aria-busy") === "true") {
      return;
    }
    button.dataset.idleText = button.textContent;
    button.setAttribute("aria-busy", "true");
    /* A button that leaves for another site says so rather than "Saving…". */
    button.textContent = button.dataset.busyText || message("msgBusy", "Saving…");
    /* Disable only after the browser (or htmx) has read the submitter's name and value:
       a disabled button is left out of the submitted data. */
    window.setTimeout(function () {
      if (button.getAttribute("aria-busy") === "true") {
        button.disabled = true;
      }
    }, 0);
  }

  function clearBusy(scope) {
    var busy = (scope || doc).querySelectorAll('[aria-busy="true"]');
    Array.prototype.forEach.call(busy, function (button) {
      button.removeAttribute("aria-busy");
      button.disabled = false;
      if (button.dataset.idleText) {
        button.textContent = button.dataset.idleText;
        delete button.dataset.idleText;
      }
    });
  }

  function showFormAlert(form, text) {
    if (!form || !form.isConnected) {
      return;
    }
    var old = form.querySelector(".form-alert");
    if (old) {
      old.remove();
    }
    var alert = doc.createElement("div");
    alert.className = "form-alert";
    alert.setAttribute("role", "alert");
    alert.setAttribute("tabindex", "-1");
    alert.textContent = text;
    var anchor = form.querySelector('input[type="hidden"]:last-of-type');
    var first = anchor ? anchor.nextSibling : form.firstChild;
    form.insertBefore(alert, first);
    alert.focus();
  }

  doc.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") {
        return;
      }
      if (form.target === "_blank") {
        /* The framed provider login opens in a new tab; this page stays, and its button must
           still work if the customer closes that tab and needs it again. */
        return;
      }
      var submitter = event.submitter || form.querySelector('[type="submit"]');
      if (submitter && submitter.name === "edit") {
        pendingFocus = focusAfterEdit(form, submitter.value);
        return; /* a local edit is quick; no busy text needed */
      }
      if (submitter && submitter.hidden) {
        /* Enter in a field presses the form's hidden default button (it keeps Enter meaning
           Continue); the busy text belongs on the Continue the customer can see. */
        submitter = form.querySelector('button[type="submit"].button--primary:not([hidden])');
      }
      setBusy(submitter);
    },
    true
  );

  function focusAfterEdit(form, value) {
    if (value === "country") {
      return "f-country_code";
    }
    if (value === "add") {
      var count = form.querySelectorAll("[data-period]").length;
      return "f-from_" + count;
    }
    if (value.indexOf("remove_") === 0) {
      var index = parseInt(value.slice(7), 10);
      return "f-from_" + Math.max(0, index - 1);
    }
    return null;
  }

  window.addEventListener("pageshow", function (event) {
    /* Back to a page kept in the back/forward cache: undo the busy state it was left in. */
    if (event.persisted) {
      clearBusy();
    }
  });

  /* ---- htmx lifecycle ------------------------------------------------------------------ */

  doc.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "page") {
      return;
    }
    var wanted = pendingFocus && doc.getElementById(pendingFocus);
    pendingFocus = null;
    var summary = target.querySelector(".error-summary");
    var heading = target.querySelector("h1");
    var focusTarget = summary || wanted || heading;
    if (focusTarget) {
      focusTarget.focus({ preventScroll: !!wanted });
      if (!wanted) {
        window.scrollTo(0, 0);
      }
    }
    var live = doc.getElementById("live");
    if (live && heading && !wanted) {
      live.textContent = "";
      window.setTimeout(function () {
        live.textContent = heading.textContent.trim();
      }, 50);
    }
    initPage(target);
    announcePageEvents();
    if (focusTarget && !wanted) {
      askForTop(); /* a new step, or the errors to fix at the top of this one */
    } else {
      reportHeight(); /* a local edit (a period added): the customer stays where they were */
    }
  });

  function failed(event) {
    var elt = event.detail && event.detail.elt;
    var form = elt && (elt.tagName === "FORM" ? elt : elt.closest("form"));
    var xhr = event.detail && event.detail.xhr;
    pendingFocus = null;
    clearBusy(form || doc);
    /* Our own service pausing (its session store restarting, or nginx finding no instance
       to answer: both say X-Connect-Outage), not FlatPeak. */
    var ours = !!xhr && event.type === "htmx:responseError" &&
      !!xhr.getResponseHeader("X-Connect-Outage");
    showFormAlert(
      form,
      ours
        ? message(
            "msgUnavailable",
            "This service is briefly unavailable. Your answers are still here; please try again in a few seconds."
          )
        : message(
            "msgOffline",
            "We couldn't reach the tariff service. Your answers are still here; please try again."
          )
    );
  }

  /* Leaving the flow (provider login, completion, a lost session) must not add an entry to
     the joint session history: inside a partner's frame, Back would otherwise walk the
     partner's page back into a finished flow. htmx's own HX-Redirect uses location.href. */
  doc.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var target = xhr ? xhr.getResponseHeader("HX-Redirect") : null;
    if (target) {
      event.preventDefault();
      /* The next page loads whole; its top must be in sight on the partner's page too. */
      post("scroll-top");
      window.location.replace(target);
    }
  });

  doc.addEventListener("htmx:responseError", failed);
  doc.addEventListener("htmx:sendError", failed);
  doc.addEventListener("htmx:timeout", failed);
  doc.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail || {};
    if (detail.successful && detail.elt && detail.elt.isConnected) {
      /* Answered without replacing the form (for example a redirect about to happen). */
      var xhr = detail.xhr;
      if (!xhr || !xhr.getResponseHeader("HX-Redirect")) {
        clearBusy(detail.elt);
      }
    }
  });

  /* ---- live list filtering ------------------------------------------------------------- */

  function fold(text) {
    var value = String(text || "").toLowerCase();
    if (value.normalize) {
      value = value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
    }
    return value;
  }

  function filterList(input) {
    var list = doc.getElementById(input.getAttribute("data-filter-input"));
    if (!list) {
      return;
    }
    var words = fold(input.value).split(/\s+/).filter(Boolean);
    var items = list.querySelectorAll("[data-filter-text]");
    var shown = 0;
    Array.prototype.forEach.call(items, function (item) {
      var haystack = fold(item.getAttribute("data-filter-text"));
      var match = words.every(function (word) {
        return haystack.indexOf(word) !== -1;
      });
      item.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    var count = doc.getElementById(input.getAttribute("aria-describedby"));
    if (count) {
      var total = items.length;
      var template =
        shown === total
          ? count.dataset.templateAll
          : shown === 0
            ? count.dataset.templateNone
            : count.dataset.templateSome;
      count.textContent = (template || "")
        .replace("{shown}", String(shown))
        .replace("{total}", String(total));
    }
    reportHeight();
  }

  doc.addEventListener("input", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-filter-input]")) {
      filterList(target);
    }
  });

  /* ---- time of day: keep each period's end and the next period's start together ------- */

  doc.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches) {
      return;
    }
    /* Time of day: a period's end is the next period's start, so keep them together. */
    var match = target.name && /^to_(\d+)$/.exec(target.name);
    if (match && target.closest("[data-tod]")) {
      var periods = target.form.querySelectorAll("[data-period]").length;
      var next = (parseInt(match[1], 10) + 1) % periods;
      var nextStart = target.form.elements["from_" + next];
      if (nextStart && periods > 1 && nextStart.dataset.followed !== "no") {
        nextStart.value = target.value;
      }
    }
    if (target.name && /^from_\d+$/.test(target.name)) {
      /* Once the customer sets a start by hand, stop overwriting it. */
      target.dataset.followed = "no";
    }
  });

  /* ---- provider logos: hide broken ones, the name is always shown --------------------- */

  doc.addEventListener(
    "error",
    function (event) {
      var target = event.target;
      if (target && target.classList && target.classList.contains("provider-logo")) {
        target.classList.add("is-broken");
      }
    },
    true
  );

  function initPage(scope) {
    var logos = (scope || doc).querySelectorAll("img.provider-logo");
    Array.prototype.forEach.call(logos, function (img) {
      if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) {
        img.classList.add("is-broken");
      }
    });
    var inputs = (scope || doc).querySelectorAll("[data-filter-input]");
    Array.prototype.forEach.call(inputs, function (input) {
      if (input.value) {
        filterList(input);
      }
    });
  }

  function setUpClose() {
    var button = doc.querySelector("[data-close]");
    if (!button || window.parent === window || !parentOrigin()) {
      return; /* not framed by a known partner: nothing to close */
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      post("close", { route: currentRoute() || undefined });
    });
  }

  function start() {
    setUpClose();
    initPage(doc);
    var summary = doc.querySelector("#page .error-summary");
    if (summary) {
      summary.focus();
    }
    post("ready");
    announcePageEvents();
    reportHeight();
    if (doc.querySelector('#page [data-event="complete"]')) {
      /* The end: "You're connected" is at the top of a frame that was a long page a moment
         ago, on a partner page still scrolled to where "Confirm and save" was. */
      askForTop();
    }
    if (window.ResizeObserver) {
      /* What contentHeight measures: any change of the content's height, a window that got
         narrower and wraps more, a logo that loaded. */
      new ResizeObserver(reportHeight).observe(body());
    } else {
      window.addEventListener("resize", reportHeight);
    }
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
