// Keeps a practitioner's unread notification count current without reloading: polls the
// small JSON feed named by #notif-count's data-feed (a count and the newest unread title) and
// updates the count in the navigation, the chat page's banner (#notif-banner) and a polite
// live region. Text nodes only, never HTML. Paused while the tab is hidden.
(function () {
  "use strict";
  var badge = document.getElementById("notif-count");
  if (!badge || !window.fetch) { return; }
  var number = document.getElementById("notif-count-number");
  var live = document.getElementById("notif-live");
  var banner = document.getElementById("notif-banner");
  var feed = badge.getAttribute("data-feed");
  var seconds = parseInt(badge.getAttribute("data-poll-seconds"), 10) || 10;
  var last = parseInt(number.textContent, 10) || 0;

  function showBanner(data) {
    if (!banner) { return; }
    if (!data.unread || !data.latest) { banner.hidden = true; return; }
    var title = document.getElementById("notif-banner-title");
    var link = document.getElementById("notif-banner-link");
    title.textContent = data.latest.title;
    link.href = data.latest.url;
    banner.hidden = false;
  }

  function render(data) {
    number.textContent = String(data.unread);
    badge.hidden = !data.unread;
    showBanner(data);
    if (data.unread > last && data.latest && live) {
      live.textContent = "New notification: " + data.latest.title + ".";
    }
    last = data.unread;
  }

  function poll() {
    if (document.hidden) { return; }
    fetch(feed, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { render(data); } })
      .catch(function () { /* the next poll tries again */ });
  }

  window.setInterval(poll, seconds * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
})();
