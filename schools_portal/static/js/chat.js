// The chat page without reloads: each message goes to /api/chat (same session, CSRF header);
// replies are added as text nodes (never HTML). Without JavaScript the form posts to /chat.
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  if (!form || !window.fetch) { return; }
  var log = document.getElementById("chat-log");
  var input = document.getElementById("chat-text");
  var status = document.getElementById("chat-status");
  var sendButton = document.getElementById("chat-send");
  var riskSlot = document.getElementById("risk-slot");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function addMessage(who, message) {
    var item = el("li", "msg " + (who === "user" ? "msg-user" : "msg-bot"));
    if (message.safety) { item.className += " msg-safety"; }
    item.appendChild(el("span", "visually-hidden", who === "user" ? "You said: " : "Assistant: "));
    if (message.sources && message.sources.length) {
      // The guide's sections as links to their pages (titles as text nodes).
      item.appendChild(document.createTextNode("From the guide: "));
      message.sources.forEach(function (source, index) {
        if (index) { item.appendChild(document.createTextNode("; ")); }
        var link = el("a", "", source.title);
        link.href = source.url;
        item.appendChild(link);
      });
    } else {
      item.appendChild(document.createTextNode(message.text || ""));
    }
    if (message.buttons && message.buttons.length) {
      var row = el("div", "msg-buttons");
      message.buttons.forEach(function (b) {
        var button = el("button", "button button-secondary", b.title);
        button.type = "button";
        button.addEventListener("click", function () { send(b.payload || b.title, b.title); });
        row.appendChild(button);
      });
      item.appendChild(row);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "nearest" });
  }

  function showRisk(reply) {
    var box = el("section", "risk-alert");
    box.id = "risk-alert";
    box.setAttribute("role", "alert");
    box.setAttribute("aria-labelledby", "risk-alert-title");
    var title = el("h2", "", "Immediate risk: act now");
    title.id = "risk-alert-title";
    box.appendChild(title);
    box.appendChild(el("p", "safety", reply.safety_message || "If a child is in immediate danger, ring 999 now."));
    var p = el("p");
    if (reply.escalation_reference) {
      p.appendChild(document.createTextNode("This has been escalated to the MASH duty social worker. Your reference is "));
      p.appendChild(el("strong", "reference", reply.escalation_reference));
      p.appendChild(document.createTextNode(". You can follow it on "));
      var link = el("a", "", "My school");
      link.href = "/school#concerns";
      p.appendChild(link);
      p.appendChild(document.createTextNode("."));
    } else {
      p.textContent = "Your concern has been recorded and will reach the MASH duty social worker. Please also ring the number above.";
    }
    box.appendChild(p);
    while (riskSlot.firstChild) { riskSlot.removeChild(riskSlot.firstChild); }
    riskSlot.appendChild(box);
    box.scrollIntoView({ block: "start" });
  }

  function send(text, shown) {
    addMessage("user", { text: shown || text });
    status.textContent = "Sending…";
    sendButton.disabled = true;
    return fetch("/api/chat", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ text: text })
    }).then(function (response) {
      if (response.status === 401) {
        window.location.href = "/signin?next=/chat";
        return null;
      }
      return response.json().then(function (data) {
        if (!response.ok) {
          throw new Error(typeof data.detail === "string" ? data.detail : "The message could not be sent.");
        }
        return data;
      });
    }).then(function (reply) {
      if (!reply) { return; }
      if (reply.urgency === "immediate") { showRisk(reply); }
      reply.messages.forEach(function (m) { addMessage("bot", m); });
      status.textContent = "";
    }).catch(function (error) {
      status.textContent = error.message || "The message could not be sent. Please try again.";
    }).then(function () {
      sendButton.disabled = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { status.textContent = "Please type a message first."; input.focus(); return; }
    input.value = "";
    send(text).then(function () { input.focus(); });
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { sendButton.click(); }
    }
  });
})();
