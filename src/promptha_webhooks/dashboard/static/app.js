/* Promptha dashboard: copy buttons and small keyboard/focus helpers. No inline scripts (CSP). */
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "sr-only";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    copyText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
      setTimeout(function () { button.textContent = label; }, 1600);
    });
  });

  // A POST answer that shows something once (a new API key) names its page's address: a reload
  // then asks for that page again (GET) instead of posting the form a second time.
  var replaced = document.querySelector("[data-replace-url]");
  if (replaced && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", replaced.getAttribute("data-replace-url"));
  }

  // A form that creates something carries a one-time form_id (dashboard/repost.py): it is sent
  // once, and a second submit before the answer arrives (a double click) is dropped. The server
  // already turns a later re-post of the same form into a redirect to what it created.
  var RESUBMIT_AFTER_MS = 8000;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.querySelector || !form.querySelector("input[name=form_id]")) { return; }
    if (form.hasAttribute("data-sent")) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    form.setAttribute("data-sent", "");
    // A submit the person stopped (Esc, the Stop button) leaves the page as it was: the form
    // works again after a while (a re-post is still caught by the server).
    setTimeout(function () { form.removeAttribute("data-sent"); }, RESUBMIT_AFTER_MS);
  }, true);
  // An htmx form is answered in place (an error leaves it on the page): it may be sent again.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.removeAttribute) { form.removeAttribute("data-sent"); }
  });
  // Back to a page restored from the browser's cache: its forms may be sent again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
    });
  });

  // After htmx swaps in a result, move focus to it so keyboard and screen-reader users land there.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.querySelector) { return; }
    var focusable = target.matches("[role=status], .delivery-detail") ? target
      : target.querySelector("[role=status], .alert");
    if (focusable && focusable.closest("#test-result-slot, .delivery-detail, #secret-slot")) {
      if (!focusable.hasAttribute("tabindex")) { focusable.setAttribute("tabindex", "-1"); }
      focusable.focus({ preventScroll: false });
    }
  });
})();
