// Keeps the MASH queue current without reloading: polls the JSON feed named by data-feed every
// data-poll-seconds (with the page's view token, so a refresh showing nothing new writes no
// audit entry) and patches the tables in place, row by row, from text nodes (never HTML). Rows
// are kept, not rebuilt, so keyboard focus and the scroll position stay where they were.
//
// An item that arrives while the page is open is marked "New" until the worker focuses or
// opens its row; the marks outlive a reload (sessionStorage), and their count leads the
// document title, so a background tab shows it.
(function () {
  "use strict";
  var root = document.getElementById("queue");
  if (!root || !window.fetch) { return; }
  var feed = root.getAttribute("data-feed");
  var view = root.getAttribute("data-view");
  var seconds = parseInt(root.getAttribute("data-poll-seconds"), 10) || 5;
  var status = document.getElementById("queue-status");
  var baseTitle = document.title;
  var STORE_KEY = "portal.queue.unseen.v1";
  var known = null; // ids in the last update, to tell which items are new
  var unseen = loadUnseen();

  function loadUnseen() {
    try {
      var list = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "[]");
      return Array.isArray(list) ? list.filter(function (x) { return typeof x === "string"; }) : [];
    } catch (e) { return []; }
  }

  function saveUnseen() {
    try { window.sessionStorage.setItem(STORE_KEY, JSON.stringify(unseen)); } catch (e) { /* not kept */ }
    document.title = unseen.length ? "(" + unseen.length + " new) " + baseTitle : baseTitle;
  }

  function keyOf(item) { return item.kind + ":" + item.id; }

  function timeLeft(item) {  // the same words as the item page's timer (countdown.js)
    return window.PortalCountdown.label(item.seconds_left);
  }

  // The cells of a row, in the columns' order: what the template draws for the first load.
  function cellsOf(item) {
    var raised = item.raised_label + " (" + item.age_minutes + " min ago)";
    var statusText = item.status_label + (item.holder ? ": " + item.holder : "");
    if (item.kind === "escalation") {
      var left = timeLeft(item);
      return [
        { label: "Reference", link: item },
        { label: "Time left to acknowledge", text: left[0], className: left[1] },
        { label: "Status", text: statusText },
        { label: "Urgency", badge: item.urgency },
        { label: "From", text: item.organisation },
        { label: "Categories", text: item.categories.join("; ") },  // labels may hold commas
        { label: "Raised", text: raised }
      ];
    }
    return [
      { label: "Reference", link: item },
      { label: "Status", text: statusText },
      { label: "From", text: item.organisation },
      { label: "Requested", text: raised },
      { label: "Best time", text: item.best_time || "" }
    ];
  }

  function setText(node, text) { if (node.textContent !== text) { node.textContent = text; } }

  function fillCell(td, spec) {
    if (td.getAttribute("data-label") !== spec.label) { td.setAttribute("data-label", spec.label); }
    var className = spec.className || "";
    if (td.className !== className) { td.className = className; }
    if (spec.link) {
      var a = td.querySelector("a") || td.appendChild(document.createElement("a"));
      if (a.getAttribute("href") !== spec.link.url) { a.setAttribute("href", spec.link.url); }
      setText(a, spec.link.reference);
      a.className = "nowrap";
      // Further messages about the same child joined it (mash/followups.py): "(N messages)".
      var countText = spec.link.message_count > 1 ? "(" + spec.link.message_count + " messages)" : "";
      var count = td.querySelector(".msg-count");
      if (countText && !count) {
        count = document.createElement("span");
        count.className = "muted small msg-count";
        a.insertAdjacentElement("afterend", count);
        a.insertAdjacentText("afterend", " ");
      }
      if (count && countText) {
        setText(count, countText);
      } else if (count) {
        if (count.previousSibling && count.previousSibling.nodeType === 3) { td.removeChild(count.previousSibling); }
        td.removeChild(count);
      }
      var mark = td.querySelector(".badge-new");
      var isNew = unseen.indexOf(keyOf(spec.link)) >= 0;
      if (isNew && !mark) {
        mark = document.createElement("span");
        mark.className = "badge badge-new";
        mark.textContent = "New";
        td.appendChild(document.createTextNode(" "));
        td.appendChild(mark);
      } else if (!isNew && mark) {
        if (mark.previousSibling && mark.previousSibling.nodeType === 3) { td.removeChild(mark.previousSibling); }
        td.removeChild(mark);
      }
    } else if (spec.badge) {
      var span = td.querySelector(".badge") || td.appendChild(document.createElement("span"));
      span.className = "badge badge-" + spec.badge;
      setText(span, spec.badge);
    } else {
      setText(td, spec.text);
    }
  }

  function fillRow(row, item) {
    var specs = cellsOf(item);
    specs.forEach(function (spec, i) {
      fillCell(row.cells[i] || row.appendChild(document.createElement("td")), spec);
    });
    while (row.cells.length > specs.length) { row.removeChild(row.lastChild); }
    row.classList.toggle("is-new", unseen.indexOf(keyOf(item)) >= 0);
  }

  function patch(tbody, items, emptyText, columns) {
    var existing = {};
    Array.prototype.forEach.call(tbody.rows, function (row) {
      var id = row.getAttribute("data-id");
      if (id) { existing[id] = row; }
    });
    var wanted = items.length ? items.map(function (item) {
      var row = existing[keyOf(item)];
      if (!row) {
        row = document.createElement("tr");
        row.setAttribute("data-id", keyOf(item));
      }
      fillRow(row, item);
      return row;
    }) : [emptyRow(tbody, emptyText, columns)];
    wanted.forEach(function (row, i) {
      if (tbody.rows[i] !== row) { tbody.insertBefore(row, tbody.rows[i] || null); }
    });
    while (tbody.rows.length > wanted.length) { tbody.removeChild(tbody.rows[wanted.length]); }
  }

  function emptyRow(tbody, text, columns) {
    var row = tbody.querySelector("tr.empty");
    if (!row) {
      row = document.createElement("tr");
      row.className = "empty";
      var td = document.createElement("td");
      td.colSpan = columns;
      td.textContent = text;
      row.appendChild(td);
    }
    return row;
  }

  function render(data) {
    var all = data.escalations.concat(data.consultations);
    var ids = all.map(keyOf);
    var fresh = known === null ? [] : ids.filter(function (id) { return known.indexOf(id) < 0; });
    // Marks for items gone from the queue are dropped; new arrivals are marked.
    unseen = unseen.filter(function (id) { return ids.indexOf(id) >= 0; }).concat(fresh);
    saveUnseen();
    // Focus stays on its element: moving a row in the DOM can drop it, so it is put back.
    var focused = document.activeElement;
    patch(document.getElementById("esc-rows"), data.escalations, "No open escalations.", 7);
    patch(document.getElementById("con-rows"), data.consultations, "No open consultation requests.", 5);
    if (focused && focused !== document.body && document.contains(focused) &&
        document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
    }
    setText(document.getElementById("esc-count"), "(" + data.escalations.length + ")");
    setText(document.getElementById("con-count"), "(" + data.consultations.length + ")");
    if (fresh.length) {
      var refs = all.filter(function (i) { return fresh.indexOf(keyOf(i)) >= 0; })
        .map(function (i) { return i.reference; });
      status.textContent = "New in the queue: " + refs.join(", ") + ".";
    }
    known = ids;
  }

  // Focusing or opening a row is seeing it: its mark goes.
  function seen(event) {
    var row = event.target.closest && event.target.closest("tr[data-id]");
    if (!row || !root.contains(row)) { return; }
    var id = row.getAttribute("data-id");
    if (unseen.indexOf(id) < 0) { return; }
    unseen = unseen.filter(function (x) { return x !== id; });
    saveUnseen();
    row.classList.remove("is-new");
    var mark = row.querySelector(".badge-new");
    if (mark) { mark.parentNode.removeChild(mark); }
  }
  root.addEventListener("focusin", seen);
  root.addEventListener("click", seen);

  function poll() {
    // Background tabs poll too (the browser may slow the timer): their title shows new items.
    fetch(feed + "?view=" + encodeURIComponent(view || ""),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
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
})();
