// chatadmin console: bulk selection on lists and the progress of a bulk job
// (apps/console/bulk). No inline script: every hook is a data- attribute.
(function () {
  "use strict";

  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="bulk-form"]'));
  }

  function showSelected() {
    var out = document.querySelector("[data-bulk-selected]");
    if (!out) { return; }
    var all = document.querySelector("[data-bulk-all]");
    var n = rowBoxes().filter(function (box) { return box.checked; }).length;
    if (all && all.checked) {
      out.textContent = "Every row matching the filters is selected.";
    } else {
      out.textContent = n ? n + " selected on this page." : "";
    }
    var page = document.querySelector("[data-bulk-page]");
    if (page) {
      var boxes = rowBoxes();
      page.checked = boxes.length > 0 && n === boxes.length;
      page.indeterminate = n > 0 && n < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-bulk-page]")) {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("[data-bulk-page], [data-bulk-all], input[name=ids][form=bulk-form]")) {
      showSelected();
    }
  });

  // "Select all N matching": the count of the list's current filters, asked once.
  function loadCount() {
    var form = document.querySelector("[data-bulk-count-url]");
    var label = document.querySelector("[data-bulk-all-label]");
    if (!form || !label || !window.fetch) { return; }
    fetch(form.getAttribute("data-bulk-count-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && data.label) { label.textContent = data.label; } })
      .catch(function () { /* the generic label stays */ });
  }

  // A bulk job's progress page: poll its status until it is finished.
  function pollJob() {
    var box = document.querySelector("[data-bulk-job]");
    if (!box || !window.fetch) { return; }
    var url = box.getAttribute("data-bulk-job");
    function set(name, value) {
      var element = box.querySelector("[data-bulk-" + name + "]");
      if (element) { element.textContent = String(value); }
    }
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var bar = box.querySelector("[data-bulk-progress]");
          if (bar) { bar.max = data.total || 1; bar.value = data.position; bar.textContent = data.position + " of " + data.total; }
          set("position", data.position);
          set("total", data.total);
          set("done", data.done);
          set("failed", data.failed);
          set("state", data.finished ? "Finished" : "Running");
          var note = box.querySelector("[data-bulk-running]");
          if (note && data.finished) { note.hidden = true; }
          var undo = document.querySelector("[data-bulk-undo]");
          if (undo) { undo.hidden = !data.undoable; }
          var list = box.querySelector("[data-bulk-failures]");
          if (list && data.failures && data.failures.length) {
            list.textContent = "";
            data.failures.forEach(function (failure) {
              var item = document.createElement("li");
              var code = document.createElement("code");
              code.textContent = failure.target;
              item.appendChild(code);
              item.appendChild(document.createTextNode(": " + failure.error));
              list.appendChild(item);
            });
          }
          if (!data.finished) { window.setTimeout(tick, document.hidden ? 5000 : 1500); }
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    window.setTimeout(tick, 1000);
  }

  function start() { showSelected(); loadCount(); pollJob(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
