// chatadmin console: small progressive enhancement, no build step.
(function () {
  "use strict";
  // Organization switcher: navigate on change.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-org-switch] select");
    if (select && select.value) { window.location.href = select.value; }
  });
  // Forms with data-confirm="text" ask before submitting (the server checks again
  // where an action is irreversible).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var text = form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { event.preventDefault(); }
  });
  // Keyboard shortcuts: elements with data-shortcut="k" are clicked (or focused, for
  // inputs) when k is pressed outside a text field. The page lists its shortcuts.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) { return; }
    var target = document.querySelector('[data-shortcut="' + CSS.escape(event.key) + '"]');
    if (!target) { return; }
    event.preventDefault();
    if (target.matches("input, textarea, select")) { target.focus(); } else { target.click(); }
  });
})();
