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

  // A threshold result as a card (chat/cards.py): the same markup as _threshold_card.html.
  function renderCard(card) {
    var box = el("div", "threshold-card");
    var head = el("p", "threshold-level");
    head.appendChild(el("strong", "", card.level ? "Suggested level " + card.level : "No level can be suggested yet"));
    if (card.level && card.level_name) { head.appendChild(document.createTextNode(": " + card.level_name)); }
    box.appendChild(head);
    [["Why", card.reasons], ["Next steps", card.next_steps], ["What would help place it", card.questions]].forEach(function (part) {
      if (!part[1] || !part[1].length) { return; }
      box.appendChild(el("p", "threshold-heading", part[0]));
      var list = el("ul");
      part[1].forEach(function (text) { list.appendChild(el("li", "", text)); });
      box.appendChild(list);
    });
    if (card.sources && card.sources.length) {
      box.appendChild(el("p", "threshold-heading", "In the guide"));
      var links = el("ul");
      card.sources.forEach(function (source) {
        var li = el("li");
        var link = el("a", "", source.title);
        link.href = source.url;
        li.appendChild(link);
        links.appendChild(li);
      });
      box.appendChild(links);
    }
    return box;
  }

  // An answer quoting a list ("- " lines) drawn as paragraphs and a list, as the page does
  // (rendering.guide_markdown); every piece of text goes in as a text node.
  function richText(text) {
    var box = el("div", "msg-rich");
    text.split(/\n\s*\n/).forEach(function (block) {
      var list = null;
      block.split("\n").forEach(function (line) {
        if (!line.trim()) { return; }
        if (/^\s*[-*]\s+/.test(line)) {
          if (!list) { list = el("ul"); box.appendChild(list); }
          list.appendChild(el("li", "", line.replace(/^\s*[-*]\s+/, "")));
        } else {
          list = null;
          box.appendChild(el("p", "", line.trim()));
        }
      });
    });
    return box;
  }

  function addMessage(who, message) {
    var item = el("li", "msg " + (who === "user" ? "msg-user" : "msg-bot"));
    if (message.safety) { item.className += " msg-safety"; }
    item.appendChild(el("span", "visually-hidden", who === "user" ? "You said: " : "Assistant: "));
    if (message.card) {
      item.appendChild(renderCard(message.card));
    } else if (message.sources && message.sources.length) {
      // The guide's sections as links to their pages (titles as text nodes).
      item.appendChild(document.createTextNode("From the guide: "));
      message.sources.forEach(function (source, index) {
        if (index) { item.appendChild(document.createTextNode("; ")); }
        var link = el("a", "", source.title);
        link.href = source.url;
        item.appendChild(link);
      });
    } else if (who !== "user" && /^- /m.test(message.text || "")) {
      item.appendChild(richText(message.text));
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
      if (reply.escalation_joined) {
        p.appendChild(document.createTextNode("This has been added to the concern you raised earlier about what reads as the same child, reference "));
        p.appendChild(el("strong", "reference", reply.escalation_reference));
        p.appendChild(document.createTextNode(", and the MASH duty social worker has been alerted again. If it is about a different child, say so or ring the number above. You can follow it on "));
      } else {
        p.appendChild(document.createTextNode("This has been escalated to the MASH duty social worker. Your reference is "));
        p.appendChild(el("strong", "reference", reply.escalation_reference));
        p.appendChild(document.createTextNode(". You can follow it on "));
      }
      var link = el("a", "", riskSlot.getAttribute("data-home-tab") || "My school");
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
