// The chat page without reloads: each message goes to /api/chat (same session, CSRF header);
// replies are added as text nodes (never HTML). Without JavaScript the form posts to /chat.
//
// Each browser tab has its own conversation: an id made here and kept, with the tab's
// transcript, in sessionStorage. So the transcript survives a reload or a visit to another
// page in this tab, ends when the tab is closed, and is not a second copy of what was typed
// kept on the server. It is kept only under the portal session's mark (data-owner), so after
// sign-out, or as someone else, an earlier transcript is dropped, never shown.
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  if (!form || !window.fetch) { return; }
  var chat = document.getElementById("chat");
  var log = document.getElementById("chat-log");
  var input = document.getElementById("chat-text");
  var status = document.getElementById("chat-status");
  var sendButton = document.getElementById("chat-send");
  var newButton = document.getElementById("chat-new");
  var riskSlot = document.getElementById("risk-slot");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var STORE_KEY = "portal.chat.v1";
  var MAX_ENTRIES = 200;       // older entries are dropped from the stored transcript
  var MAX_STORED_CHARS = 20000; // one entry's stored text (a pasted chronology is cut)
  // The same patterns as schools_portal/phone_links.py: UK numbers and 999 become tel: links,
  // references (E-000014) never break across lines.
  var TOKENS = /((?<![\w-])(?:0\d{3,4} ?\d{3} ?\d{3,4}|999)(?![\w-]))|((?<![\w-])[EC]-\d{6}(?!\w))/g;

  var state = load();
  // The first message after the page came back (reload, another page) stops any question the
  // assistant was in the middle of asking: the server sends the cancel first.
  var resumed = state.entries.length > 0;

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var text = "";
    bytes.forEach(function (b) { text += String.fromCharCode(b); });
    return window.btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fresh() {
    return { owner: chat.getAttribute("data-owner"), conversation: newId(), entries: [] };
  }

  function load() {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null");
      if (stored && stored.owner === chat.getAttribute("data-owner") &&
          typeof stored.conversation === "string" && Array.isArray(stored.entries)) {
        return stored;
      }
      window.sessionStorage.removeItem(STORE_KEY);
    } catch (e) { /* storage unavailable or corrupt: start afresh */ }
    return fresh();
  }

  function save() {
    state.entries = state.entries.slice(-MAX_ENTRIES);
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (e) { /* full or disabled: the page still works, the transcript is not kept */ }
  }

  function remember(entry) {
    if (entry.text && entry.text.length > MAX_STORED_CHARS) {
      entry.text = entry.text.slice(0, MAX_STORED_CHARS) + " … (shortened here)";
    }
    state.entries.push(entry);
    save();
  }

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
      part[1].forEach(function (text) { list.appendChild(textItem("li", text)); });
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
          list.appendChild(textItem("li", line.replace(/^\s*[-*]\s+/, "")));
        } else {
          list = null;
          box.appendChild(textItem("p", line.trim()));
        }
      });
    });
    return box;
  }

  // Text as text nodes, with numbers as tel: links and references kept in one piece.
  function appendText(parent, text) {
    var last = 0;
    var match;
    TOKENS.lastIndex = 0;
    while ((match = TOKENS.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (match[1]) {
        var link = el("a", "", match[1]);
        link.href = "tel:" + match[1].replace(/ /g, "");
        parent.appendChild(link);
      } else {
        parent.appendChild(el("span", "nowrap", match[2]));
      }
      last = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // An element holding text, its numbers tap-to-call (lists and cards as much as plain text).
  function textItem(tag, text) {
    var node = el(tag);
    appendText(node, text);
    return node;
  }

  function addMessage(who, message, options) {
    options = options || {};
    var item = el("li", "msg " + (who === "user" ? "msg-user" : "msg-bot"));
    if (message.safety) { item.className += " msg-safety"; }
    if (message.notice) { item.className += " msg-notice"; }
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
      appendText(item, message.text || "");
    }
    // Buttons answer the question just asked: a restored transcript shows none.
    if (!options.restored && message.buttons && message.buttons.length) {
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
    if (!options.restored) {
      remember({ kind: who, text: message.text || "", safety: !!message.safety,
                 notice: !!message.notice, sources: message.sources || [],
                 card: message.card || null });
      item.scrollIntoView({ block: "nearest" });
    }
  }

  function addDivider(text) {
    var item = el("li", "msg msg-divider", text);
    log.appendChild(item);
  }

  function showRisk(reply, options) {
    options = options || {};
    var box = el("section", "risk-alert");
    box.id = "risk-alert";
    // A restored box is not announced again: it was when the reply came.
    if (!options.restored) { box.setAttribute("role", "alert"); }
    box.setAttribute("aria-labelledby", "risk-alert-title");
    var title = el("h2", "", "Immediate risk: act now");
    title.id = "risk-alert-title";
    box.appendChild(title);
    var safety = el("p", "safety");
    appendText(safety, reply.safety_message || "If a child is in immediate danger, ring 999 now.");
    box.appendChild(safety);
    var p = el("p");
    if (reply.escalation_reference) {
      if (reply.escalation_joined) {
        p.appendChild(document.createTextNode("This has been added to the concern you raised earlier about what reads as the same child, reference "));
        p.appendChild(el("strong", "reference nowrap", reply.escalation_reference));
        p.appendChild(document.createTextNode(", and the MASH duty social worker has been alerted again. If it is about a different child, say so or ring the number above. You can follow it on "));
      } else {
        p.appendChild(document.createTextNode("This has been escalated to the MASH duty social worker. Your reference is "));
        p.appendChild(el("strong", "reference nowrap", reply.escalation_reference));
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
    if (!options.restored) {
      remember({ kind: "risk", safety_message: reply.safety_message || "",
                 escalation_reference: reply.escalation_reference || null });
      box.scrollIntoView({ block: "start" });
    }
    return box;
  }

  function restore() {
    if (!state.entries.length) { return; }
    state.entries.forEach(function (entry) {
      if (entry.kind === "risk") { showRisk(entry, { restored: true }); }
      else { addMessage(entry.kind === "user" ? "user" : "bot", entry, { restored: true }); }
    });
    addDivider("You left this page. If the assistant was asking you questions, they stop " +
               "when you send your next message: it is read as a new question.");
  }

  function startNew() {
    state = fresh();
    save();
    resumed = false;
    while (log.firstChild) { log.removeChild(log.firstChild); }
    while (riskSlot.firstChild) { riskSlot.removeChild(riskSlot.firstChild); }
    status.textContent = "New conversation started.";
    input.focus();
  }

  function send(text, shown) {
    addMessage("user", { text: shown || text });
    status.textContent = "Sending…";
    sendButton.disabled = true;
    var alerted = null;
    var body = { text: text, conversation: state.conversation };
    if (resumed) { body.resumed = true; }
    return fetch("/api/chat", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
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
      if (!reply) { return null; }
      resumed = false;
      if (reply.urgency === "immediate") { alerted = showRisk(reply); }
      reply.messages.forEach(function (m) { addMessage("bot", m); });
      status.textContent = "";
      return alerted;
    }).catch(function (error) {
      status.textContent = error.message || "The message could not be sent. Please try again.";
      return null;
    }).then(function (box) {
      sendButton.disabled = false;
      return box;
    });
  }

  restore();
  newButton.hidden = false;
  newButton.addEventListener("click", startNew);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { status.textContent = "Please type a message first."; input.focus(); return; }
    input.value = "";
    send(text).then(function (box) {
      if (box) {
        // Back to the box without scrolling to it, so on a phone the alert's heading stays
        // in view above the keyboard rather than scrolling off.
        input.focus({ preventScroll: true });
        box.scrollIntoView({ block: "start" });
      } else {
        input.focus();
      }
    });
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { sendButton.click(); }
    }
  });
})();
