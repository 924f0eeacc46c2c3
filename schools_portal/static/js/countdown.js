// The time left to acknowledge an escalation, in the words the queue uses ("12 min",
// "Overdue by 3 min", "Acknowledged"). Exposes PortalCountdown.label(seconds) for queue.js and
// keeps every [data-seconds-left] element counting down from when the page was served.
(function () {
  "use strict";
  function label(secondsLeft) {
    if (secondsLeft === null || secondsLeft === undefined) { return ["Acknowledged", ""]; }
    if (secondsLeft < 0) { return ["Overdue by " + Math.floor(-secondsLeft / 60) + " min", "overdue"]; }
    return [Math.floor(secondsLeft / 60) + " min", ""];
  }
  window.PortalCountdown = { label: label };

  var timers = Array.prototype.slice.call(document.querySelectorAll("[data-seconds-left]"));
  if (!timers.length) { return; }
  var started = Date.now();
  var initial = timers.map(function (el) { return parseInt(el.getAttribute("data-seconds-left"), 10); });
  function tick() {
    var gone = Math.floor((Date.now() - started) / 1000);
    timers.forEach(function (el, i) {
      var shown = label(initial[i] - gone);
      if (el.textContent !== shown[0]) { el.textContent = shown[0]; }
      el.classList.toggle("overdue", shown[1] === "overdue");
    });
  }
  window.setInterval(tick, 15000);
})();
