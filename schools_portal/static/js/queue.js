// Keeps the MASH queue current without reloading: polls the JSON feed named by data-feed every
// data-poll-seconds and rebuilds the tables from text nodes (never HTML).
(function () {
  "use strict";
  var root = document.getElementById("queue");
  if (!root || !window.fetch) { return; }
  var feed = root.getAttribute("data-feed");
  var seconds = parseInt(root.getAttribute("data-poll-seconds"), 10) || 5;
  var status = document.getElementById("queue-status");
  var known = null; // ids seen so far, to mark and announce new items

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function linkCell(row, item) {
    var td = document.createElement("td");
    var a = document.createElement("a");
    a.href = item.url;
    a.textContent = item.reference;
    td.appendChild(a);
    if (item.message_count > 1) {  // further messages joined it (the same person, the same child)
      td.appendChild(document.createTextNode(" "));
      var count = document.createElement("span");
      count.className = "muted small";
      count.textContent = "(" + item.message_count + " messages)";
      td.appendChild(count);
    }
    row.appendChild(td);
  }

  function badgeCell(row, urgency) {
    var td = document.createElement("td");
    var span = document.createElement("span");
    span.className = "badge badge-" + urgency;
    span.textContent = urgency;
    td.appendChild(span);
    row.appendChild(td);
  }

  function timeLeft(item) {  // the same words as the item page's timer (countdown.js)
    return window.PortalCountdown.label(item.seconds_left);
  }

  function statusText(item) {
    return item.status_label + (item.holder ? ": " + item.holder : "");
  }

  function fill(tbodyId, items, columns, emptyText, fresh) {
    var tbody = document.getElementById(tbodyId);
    var rows = document.createDocumentFragment();
    if (!items.length) {
      var empty = document.createElement("tr");
      var td = cell(empty, emptyText);
      td.colSpan = columns;
      rows.appendChild(empty);
    }
    items.forEach(function (item) {
      var row = document.createElement("tr");
      row.setAttribute("data-id", item.kind + ":" + item.id);
      if (fresh.indexOf(item.kind + ":" + item.id) >= 0) { row.className = "is-new"; }
      linkCell(row, item);
      if (item.kind === "escalation") {
        badgeCell(row, item.urgency);
        cell(row, item.organisation);
        cell(row, item.categories.join(", "));
        cell(row, item.raised_label + " (" + item.age_minutes + " min ago)");
        var left = timeLeft(item);
        cell(row, left[0], left[1]);
      } else {
        cell(row, item.organisation);
        cell(row, item.raised_label + " (" + item.age_minutes + " min ago)");
        cell(row, item.best_time || "");
      }
      cell(row, statusText(item));
      rows.appendChild(row);
    });
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    tbody.appendChild(rows);
  }

  function render(data) {
    var all = data.escalations.concat(data.consultations);
    var ids = all.map(function (i) { return i.kind + ":" + i.id; });
    var fresh = known === null ? [] : ids.filter(function (id) { return known.indexOf(id) < 0; });
    fill("esc-rows", data.escalations, 7, "No open escalations.", fresh);
    fill("con-rows", data.consultations, 5, "No open consultation requests.", fresh);
    document.getElementById("esc-count").textContent = "(" + data.escalations.length + ")";
    document.getElementById("con-count").textContent = "(" + data.consultations.length + ")";
    if (fresh.length) {
      var refs = all.filter(function (i) { return fresh.indexOf(i.kind + ":" + i.id) >= 0; })
        .map(function (i) { return i.reference; });
      status.textContent = "New in the queue: " + refs.join(", ") + ".";
    }
    known = ids;
  }

  function poll() {
    if (document.hidden) { return; }
    fetch(feed, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.href = "/signin?next=/queue"; return null; }
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (data) { if (data) { render(data); } })
      .catch(function () { status.textContent = "Could not refresh the queue; retrying."; });
  }

  poll();
  window.setInterval(poll, seconds * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
})();
