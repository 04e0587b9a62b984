// chatadmin console: live refresh of a page (the review queue, the dashboard).
// See apps/console/review/live.py for the JSON it reads. No inline script, no library.
//
// The page's [data-live-url] element names the JSON twin, the first cursor
// (data-live-since) and the interval (data-live-interval, ms). Every interval, while
// the tab is visible, the twin is asked with the page's own query string; then:
// - [data-live-value="k"] elements get the text values[k] (only when it changed);
// - [data-live-rows] (a <tbody>) gets the rows: a row (<tr data-row-key>) whose HTML
//   changed is replaced in place, unless it holds the focus; new, gone and reordered
//   rows are applied only while the focus is outside the table (the row under the
//   user's focus never moves), else on a later answer;
// - [data-live-announce] (an aria-live region) says "2 new reports";
// - [data-live-full] / [data-live-empty] are shown or hidden by "empty".
(function () {
  "use strict";
  var root = document.querySelector("[data-live-url]");
  if (!root || !window.fetch) { return; }
  var MAX_DELAY = 60000;
  var interval = parseInt(root.getAttribute("data-live-interval"), 10) || 10000;
  var since = root.getAttribute("data-live-since") || "";
  var delay = interval;
  var timer = null;
  var busy = false;
  var stopped = false;
  var lastPoll = Date.now();
  // The HTML each row had when the server last sent it, by key.
  var known = {};

  function rowsBody() { return document.querySelector("[data-live-rows]"); }

  function remember(body) {
    if (!body) { return; }
    Array.prototype.forEach.call(body.querySelectorAll("tr[data-row-key]"), function (row) {
      known[row.getAttribute("data-row-key")] = row.outerHTML;
    });
  }

  function keepChecks(from, to) {
    // Row checkboxes (bulk selection) keep their state across a replacement.
    Array.prototype.forEach.call(from.querySelectorAll("input[type=checkbox]"), function (box) {
      var twin = to.querySelector('input[type=checkbox][name="' + CSS.escape(box.name) +
        '"][value="' + CSS.escape(box.value) + '"]');
      if (twin) { twin.checked = box.checked; }
    });
  }

  function applyRows(html) {
    var body = rowsBody();
    if (!body) { return; }
    var template = document.createElement("template");
    template.innerHTML = html;
    var incoming = Array.prototype.slice.call(template.content.querySelectorAll("tr[data-row-key]"));
    var keys = incoming.map(function (row) { return row.getAttribute("data-row-key"); });
    var shown = Array.prototype.slice.call(body.querySelectorAll("tr[data-row-key]"));
    var current = {};
    shown.forEach(function (row) { current[row.getAttribute("data-row-key")] = row; });
    var active = document.activeElement;
    var focused = active && body.contains(active) ? active.closest("tr[data-row-key]") : null;
    // 1. Rows already shown whose HTML changed: replaced where they are (not the
    //    focused one: it is updated by a later answer, once the focus has left it).
    incoming.forEach(function (row, i) {
      var key = keys[i];
      var old = current[key];
      var html = row.outerHTML;
      if (!old || old === focused || known[key] === html) { return; }
      var fresh = document.importNode(row, true);
      keepChecks(old, fresh);
      old.replaceWith(fresh);
      current[key] = fresh;
      known[key] = html;
    });
    var same = shown.length === keys.length && shown.every(function (row, i) {
      return row.getAttribute("data-row-key") === keys[i];
    });
    if (same || focused) { return; }  // 2. waits until the focus is outside the table
    // 2. Gone rows out, then every row in its place (only new or misplaced ones move).
    shown.forEach(function (row) {
      var key = row.getAttribute("data-row-key");
      if (keys.indexOf(key) === -1) { row.remove(); delete known[key]; delete current[key]; }
    });
    var cursor = body.firstElementChild;
    incoming.forEach(function (row, i) {
      var key = keys[i];
      var el = current[key];
      if (!el) {
        el = document.importNode(row, true);
        known[key] = row.outerHTML;
      }
      if (el === cursor) {
        cursor = cursor.nextElementSibling;
      } else {
        body.insertBefore(el, cursor);
      }
    });
  }

  function applyValues(values) {
    Object.keys(values || {}).forEach(function (key) {
      Array.prototype.forEach.call(
        document.querySelectorAll('[data-live-value="' + CSS.escape(key) + '"]'),
        function (el) { if (el.textContent !== values[key]) { el.textContent = values[key]; } }
      );
    });
  }

  function applyEmpty(empty) {
    var full = document.querySelector("[data-live-full]");
    var none = document.querySelector("[data-live-empty]");
    if (full && full.hidden !== empty) { full.hidden = empty; }
    if (none && none.hidden !== !empty) { none.hidden = !empty; }
  }

  function announce(text) {
    var region = document.querySelector("[data-live-announce]");
    if (!region || !text) { return; }
    // Emptied first, so that the same words said again are announced again.
    var time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text + " · " + time; }, 50);
  }

  function apply(data) {
    applyValues(data.values);
    if (typeof data.rows === "string") {
      var body = rowsBody();
      var active = document.activeElement;
      var inTable = body && active && body.contains(active);
      // An empty list takes the table away: not while the focus is in it.
      if (!(data.empty && inTable)) {
        applyRows(data.rows);
        applyEmpty(!!data.empty);
      }
    }
    announce(data.announce);
    if (data.since) {
      since = data.since;
      root.setAttribute("data-live-since", since);
    }
    document.dispatchEvent(new CustomEvent("live:updated", { detail: data }));
  }

  function url() {
    var params = new URLSearchParams(window.location.search);
    params.set("since", since);
    return root.getAttribute("data-live-url") + "?" + params.toString();
  }

  function schedule(ms) {
    if (stopped) { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, ms);
  }

  function poll() {
    if (stopped || busy) { return; }
    if (document.hidden) { return; }  // resumed by visibilitychange
    busy = true;
    lastPoll = Date.now();
    fetch(url(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.status === 403 || response.status === 404 ||
            (response.ok && type.indexOf("application/json") === -1)) {
          stopped = true;  // logged out (the login page) or no longer allowed
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (data) { apply(data); }
        delay = interval;
      })
      .catch(function () { delay = Math.min(delay * 2, MAX_DELAY); })
      .then(function () {
        busy = false;
        schedule(delay);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      window.clearTimeout(timer);
    } else if (Date.now() - lastPoll >= interval) {
      poll();
    } else {
      schedule(interval - (Date.now() - lastPoll));
    }
  });

  remember(rowsBody());
  schedule(interval);
})();
