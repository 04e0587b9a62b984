// chatadmin console: small progressive enhancement, no build step.
(function () {
  "use strict";
  document.documentElement.classList.add("js"); // shows .js-only controls, collapses the nav

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

  // Phones: the "Menu" button opens and closes the sidebar (CSS hides it when closed).
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) { return; }
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    if (nav) { nav.classList.toggle("open", open); }
  });

  // A table wider than its .table-wrap scrolls sideways: the wrapper becomes a focusable,
  // named region so that keyboard users can scroll it too (WCAG 2.1.1; axe's
  // scrollable-region-focusable). A wrapper with its own tabindex is left alone.
  function labelScrollers() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.hasAttribute("data-scroll-region") || !wrap.hasAttribute("tabindex")) {
        var scrolls = wrap.scrollWidth > wrap.clientWidth;
        wrap.toggleAttribute("data-scroll-region", scrolls);
        if (!scrolls) { ["tabindex", "role", "aria-label"].forEach(function (a) { wrap.removeAttribute(a); }); return; }
        var caption = wrap.querySelector("caption");
        var section = wrap.closest("section");
        var heading = section && section.querySelector("h2, h3");
        var name = (caption || heading || document.querySelector("h1") || {}).textContent || "Table";
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", name.trim().replace(/\s+/g, " ") + " (scrolls sideways)");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", labelScrollers);
  window.addEventListener("resize", labelScrollers);
  window.chatadminLabelScrollers = labelScrollers; // for pages that add rows (live refresh)

  // The keyboard help overlay: lists every element of the page with data-shortcut="k"
  // and data-shortcut-label="what it does" (docs/console.md).
  function describe(element) {
    return element.getAttribute("data-shortcut-label") || element.getAttribute("aria-label") ||
      element.textContent.trim() || element.getAttribute("name") || "";
  }
  function openHelp() {
    var dialog = document.getElementById("shortcut-help");
    if (!dialog || dialog.open) { return; }
    var list = dialog.querySelector("[data-shortcut-list]");
    list.textContent = "";
    var rows = [["?", "Show this list"]];
    document.querySelectorAll("[data-shortcut]").forEach(function (element) {
      rows.push([element.getAttribute("data-shortcut"), describe(element)]);
    });
    rows.forEach(function (row) {
      var dt = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = row[0];
      dt.appendChild(kbd);
      var dd = document.createElement("dd");
      dd.textContent = row[1];
      list.append(dt, dd);
    });
    dialog.querySelector("[data-shortcuts-off-note]").hidden = shortcutsOn();
    dialog.showModal(); // focus moves into the dialog; Escape closes it
  }
  var opener = null;
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcut-help-open]")) {
      opener = event.target.closest("[data-shortcut-help-open]");
      openHelp();
    }
  });
  document.addEventListener("close", function (event) {
    if (event.target.id === "shortcut-help" && opener) { opener.focus(); opener = null; }
  }, true);

  // Keyboard shortcuts: elements with data-shortcut="k" are clicked (or focused, for
  // form fields) when k is pressed outside a text field. An account can turn every
  // single-key shortcut off, ? included (WCAG 2.1.4): <body data-shortcuts="off">.
  function shortcutsOn() { return document.body.getAttribute("data-shortcuts") !== "off"; }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || !shortcutsOn()) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) { return; }
    var help = document.getElementById("shortcut-help");
    if (help && help.open) { return; } // the overlay is modal: only Escape (native) closes it
    if (event.key === "?") {
      event.preventDefault();
      opener = document.activeElement;
      openHelp();
      return;
    }
    var target = document.querySelector('[data-shortcut="' + CSS.escape(event.key) + '"]');
    if (!target) { return; }
    event.preventDefault();
    if (target.matches("input, textarea, select")) { target.focus(); } else { target.click(); }
  });
})();
