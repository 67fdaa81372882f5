/* The privacy assistant's chat widget: Rasa's socket.io channel, no framework.
 *
 * The server issues the conversation: `session_confirm` carries its id and a signed token.
 * The token and the rendered history are kept in sessionStorage (this tab only, gone when
 * it closes; an entry an older widget left in localStorage is removed), and the token is
 * sent with `session_request` after a reload, so Rasa keeps talking in the same
 * conversation; nobody who only knows the id can join it. "End chat" ends the conversation
 * on the server (its slots, the verified address among them, are cleared, and its token is
 * refused from then on) and forgets the token and history here; "Delete chat" also has the server erase the conversation, unless an email address
 * was verified in it (then it belongs to that person's requests and is kept). The log always
 * begins with a notice that the chat is recorded, linked to the statement. A browser that
 * sends Global Privacy Control says so in `session_request` (`gpc`), and the widget shows
 * that the signal is honoured. Bot buttons send their payload and show their title. Links to sections of this page
 * scroll to the section.
 *
 * Usable by keyboard and screen reader alone: the message box keeps focus while answers
 * arrive (and gets it back after a suggested answer is chosen); "The assistant is typing…"
 * is added to the log (a polite live region) from a message sent until its answer; the
 * status line (role=status) says when the connection is lost and when it is back, and
 * sending is paused meanwhile (the Send button is aria-disabled, not disabled, so that it
 * keeps focus; what was typed stays in the box). */
(function () {
  "use strict";

  var STORE_KEY = "privacy-assistant-chat";
  var MAX_HISTORY = 200;
  var LINK = /\((https?:\/\/[^\s)]+)\)/g;
  var config = JSON.parse(document.getElementById("chat-widget-config").textContent);

  function store() {
    try { return window.sessionStorage; } catch (e) { return null; }  /* storage blocked */
  }
  try { window.localStorage.removeItem(STORE_KEY); } catch (e) { /* storage blocked */ }
  function load() {
    try {
      var state = JSON.parse(store().getItem(STORE_KEY) || "null");
      if (state && Array.isArray(state.history)) return state;
    } catch (e) { /* a broken entry starts a new conversation */ }
    return fresh(false);
  }
  function fresh(open) {
    return { sessionId: null, sessionToken: null, history: [], open: open };
  }
  var state = load();
  function save() {
    state.history = state.history.slice(-MAX_HISTORY);
    try { store().setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* full */ }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  // --- the widget's elements ------------------------------------------------------------
  var root = el("div", { "class": "pa-chat" });
  var launcher = el("button", { type: "button", "class": "pa-launcher",
    "aria-expanded": "false", "aria-controls": "pa-panel" }, "Chat with our privacy assistant");
  var panel = el("section", { id: "pa-panel", "class": "pa-panel", role: "region",
    "aria-labelledby": "pa-title" });
  panel.hidden = true;
  var header = el("div", { "class": "pa-header" });
  var title = el("h2", { id: "pa-title", "class": "pa-title" }, config.title);
  var endButton = el("button", { type: "button", "class": "pa-end" }, "End chat");
  // Named by its visible text alone, so that "click Delete chat" works by voice (WCAG 2.5.3).
  var deleteButton = el("button", { type: "button", "class": "pa-end pa-delete" },
    "Delete chat");
  var closeButton = el("button", { type: "button", "class": "pa-close",
    "aria-label": "Close the chat" }, "×");
  header.append(title, endButton, deleteButton, closeButton);
  var status = el("p", { "class": "pa-status", role: "status", "data-state": "connecting" },
    "Connecting…");
  var log = el("div", { "class": "pa-log", role: "log", "aria-live": "polite",
    "aria-label": "Conversation", tabindex: "0" });
  var form = el("form", { "class": "pa-form" });
  var label = el("label", { "for": "pa-input", "class": "pa-visually-hidden" },
    "Your message");
  var input = el("input", { id: "pa-input", type: "text", autocomplete: "off",
    maxlength: "1000", placeholder: "Ask about your privacy…" });
  var send = el("button", { type: "submit", "class": "pa-send" }, "Send");
  // From a message sent until its answer, the last thing in the log (announced politely).
  var typing = el("p", { "class": "pa-typing" }, "The assistant is typing…");
  var TYPING_MS = 30000;  // an agent who took the chat over may take longer: stop saying it
  var typingTimer = null;
  form.append(label, input, send);
  // Shown while the browser sends Global Privacy Control (its `navigator` property here,
  // or the `Sec-GPC: 1` header the server saw): the channel records the opt-out of sale
  // and sharing for this conversation.
  var gpcNote = el("p", { "class": "pa-gpc", id: "pa-gpc" },
    "Opt-out preference signal honored: we do not sell or share your personal information.");
  gpcNote.hidden = true;
  var GPC = navigator.globalPrivacyControl === true;
  panel.append(header, status, gpcNote, log, form);
  root.append(panel, launcher);
  document.body.appendChild(root);

  // --- rendering ------------------------------------------------------------------------
  function isThisPage(url) {
    if (!url.hash) return false;
    var here = window.location.origin + window.location.pathname;
    var site = (config.siteUrl || "").replace(/\/$/, "") + "/";
    var there = url.origin + url.pathname;
    return there === here || there === site;
  }

  function scrollToSection(id) {
    var target = document.getElementById(id);
    if (!target) return false;
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    target.scrollIntoView({ behavior: still ? "auto" : "smooth", block: "start" });
    target.focus({ preventScroll: true });
    history.replaceState(null, "", "#" + id);
    return true;
  }

  function renderText(container, text) {
    var last = 0;
    text.replace(LINK, function (match, href, offset) {
      container.append(document.createTextNode(text.slice(last, offset) + "("));
      var url;
      try { url = new URL(href); } catch (e) { url = null; }
      var a = el("a", { href: href }, href);
      if (url && isThisPage(url)) {
        a.textContent = "go to the section";
        a.setAttribute("aria-label", "Go to the section " + decodeURIComponent(url.hash.slice(1)));
        a.addEventListener("click", function (event) {
          if (scrollToSection(decodeURIComponent(url.hash.slice(1)))) event.preventDefault();
        });
      } else {
        a.setAttribute("rel", "noopener noreferrer");
        a.setAttribute("target", "_blank");
      }
      container.append(a, document.createTextNode(")"));
      last = offset + match.length;
      return match;
    });
    container.append(document.createTextNode(text.slice(last)));
  }

  // The first thing in the log: the chat is recorded, and where the statement says so.
  var STATEMENT_SECTION = "info-we-collect";
  // The first message, before anything is said: the visitor talks to software, and how to
  // reach a person (the EU AI Act asks a chatbot to say so at the first interaction).
  var DISCLOSURE = "Hi! I'm the privacy assistant, an automated assistant, not a person. " +
    "I answer from our privacy statement and quote it. To reach a person at any time, say " +
    "“talk to a person”.";

  function renderNotice() {
    var intro = el("div", { "class": "pa-msg pa-bot pa-intro" });
    intro.append(el("span", { "class": "pa-visually-hidden" }, "Assistant: "),
      el("span", { "class": "pa-text" }, DISCLOSURE));
    log.append(intro);
    var notice = el("p", { "class": "pa-notice" });
    var link = el("a", { href: (config.siteUrl || "").replace(/\/$/, "") + "/#" +
      STATEMENT_SECTION }, "privacy statement");
    link.addEventListener("click", function (event) {
      if (isThisPage(new URL(link.href))) {
        event.preventDefault();
        scrollToSection(STATEMENT_SECTION);
      }
    });
    notice.append(document.createTextNode("This chat is recorded so that we can answer you " +
      "and handle your requests, as our "), link, document.createTextNode(" describes. " +
      "“Delete chat” erases it at once, unless you verified your email in it."));
    log.append(notice);
  }

  function note(text) {
    log.append(el("p", { "class": "pa-notice pa-outcome" }, text));
  }

  function render(item) {
    var bubble = el("div", { "class": "pa-msg pa-" + item.from });
    var who = el("span", { "class": "pa-visually-hidden" },
      item.from === "user" ? "You said: " : "Assistant: ");
    bubble.append(who);
    var body = el("span", { "class": "pa-text" });
    renderText(body, item.text || "");
    bubble.append(body);
    log.append(bubble);
    if (item.buttons && item.buttons.length) {
      var group = el("div", { "class": "pa-buttons", role: "group",
        "aria-label": "Suggested answers" });
      item.buttons.forEach(function (b) {
        var button = el("button", { type: "button", "class": "pa-choice" }, b.title);
        button.disabled = Boolean(item.answered);
        button.addEventListener("click", function () {
          // Focus goes back to the message box, which is where the next answer is typed.
          if (!sendMessage(b.payload, b.title)) return;  // offline: the choice stays open
          input.focus();
        });
        group.append(button);
      });
      log.append(group);
    }
    if (typing.parentNode) log.append(typing);  // still the last thing in the log
    log.scrollTop = log.scrollHeight;
  }

  // Empties the log; focus that was on something in it goes to the message box, not lost.
  function clearLog() {
    var hadFocus = log.contains(document.activeElement) && document.activeElement !== log;
    log.textContent = "";
    renderNotice();
    if (hadFocus) input.focus();
  }

  function showTyping(on) {
    window.clearTimeout(typingTimer);
    if (on) {
      log.append(typing);
      log.scrollTop = log.scrollHeight;
      typingTimer = window.setTimeout(function () { showTyping(false); }, TYPING_MS);
    } else if (typing.parentNode) {
      typing.remove();
    }
  }

  function add(item) {
    state.history.push(item);
    save();
    render(item);
  }

  // --- connection -----------------------------------------------------------------------
  var connected = false;
  var dropped = false;  // the connection was lost since the conversation was last confirmed
  var LOST = "Connection lost — trying to reconnect… Sending is paused until the " +
    "connection is back; what you type stays in the box.";
  var UNREACHABLE = "The assistant cannot be reached right now — trying again… Sending is " +
    "paused until it answers.";
  var statusSaid = "";
  function setStatus(kind, text) {
    status.dataset.state = kind;
    // Said again only when it changes: a retry every few seconds announces nothing new (nor
    // overwrites a "Not sent" said meanwhile).
    if (statusSaid !== text) status.textContent = statusSaid = text;
    connected = kind === "online";
    // aria-disabled, not disabled: a focused Send button keeps its focus when the
    // connection drops, and says why it does nothing (the status line).
    send.setAttribute("aria-disabled", String(!connected));
  }
  setStatus("connecting", "Connecting to the assistant…");

  var socket = window.io(config.rasaUrl, { path: config.socketPath || "/socket.io",
    reconnectionDelayMax: 5000 });
  socket.on("connect", function () {
    setStatus("connecting", dropped ? "Reconnecting…" : "Connecting to the assistant…");
    socket.emit("session_request", { session_token: state.sessionToken, gpc: GPC });
  });
  socket.on("session_confirm", function (data) {
    if (!data || !data.session_id || !data.session_token) return;
    if (state.sessionId && state.sessionId !== data.session_id) {
      // The stored conversation could not be resumed: its history belongs to no session now.
      state.history = [];
      clearLog();
    }
    state.sessionId = data.session_id;
    state.sessionToken = data.session_token;
    gpcNote.hidden = !(GPC || data.gpc === true);
    save();
    setStatus("online", dropped ? "Reconnected" : "Connected");
    dropped = false;
  });
  var OUTCOMES = {
    deleted: "This chat was deleted.",
    verified: "This chat was ended but kept: you verified your email in it, so it belongs " +
      "to your request. Ask for your data to be deleted to have it erased with the rest.",
    unavailable: "This chat was ended, but it could not be deleted just now. Chats in " +
      "which no email was verified are deleted after 30 days."
  };
  socket.on("session_ended", function (outcome) {
    showTyping(false);
    forget();
    if (outcome && outcome.erased === true) note(OUTCOMES.deleted);
    else if (outcome && OUTCOMES[outcome.reason]) note(OUTCOMES[outcome.reason]);
    socket.emit("session_request", { gpc: GPC });
  });
  // The server's flood limits (channels/limits.py): say what happened and when to go on.
  var LIMITS = {
    too_many_messages: "You are sending messages faster than the assistant accepts.",
    too_many_sessions: "Too many chats were started from your network just now.",
    conversation_limit: "This chat has reached its limit of messages for now. " +
      "“End chat” starts a new one."
  };
  socket.on("error", function (data) {
    var text = data && LIMITS[data.error];
    if (!text) return;
    var wait = Math.max(1, Math.ceil(Number(data.retry_after) || 60));
    note(text + " Please try again in " + (wait < 120 ? wait + " seconds." :
      Math.ceil(wait / 60) + " minutes."));
  });
  socket.on("disconnect", function () {
    dropped = true;
    showTyping(false);  // an answer under way is lost with the connection
    setStatus("offline", LOST);
  });
  socket.on("connect_error", function () {
    setStatus("offline", dropped ? LOST : UNREACHABLE);
  });
  socket.on("bot_uttered", function (message) {
    if (!message) return;
    showTyping(false);
    if (message.text) {
      var buttons = (message.quick_replies || message.buttons || []).map(function (b) {
        return { title: b.title, payload: b.payload };
      });
      add({ from: "bot", text: message.text, buttons: buttons });
    }
    // Other payloads (e.g. a citation's data) add nothing visible: the text carries the link.
  });

  function sendMessage(payload, shown) {
    if (!connected || !state.sessionId) {
      // Said again (a change of text is announced): nothing was sent, and why.
      status.textContent = "Not sent: " + (dropped ? LOST :
        status.dataset.state === "offline" ? UNREACHABLE :
        "the assistant is not ready yet. Please send it again in a moment.");
      return false;
    }
    // Earlier suggestions are answered by whatever is sent now: they leave the Tab order.
    state.history.forEach(function (item) { if (item.buttons) item.answered = true; });
    log.querySelectorAll(".pa-choice").forEach(function (x) { x.disabled = true; });
    add({ from: "user", text: shown });
    socket.emit("user_uttered", { message: payload });
    showTyping(true);
    return true;
  }

  // --- ending the chat ------------------------------------------------------------------
  function forget() {
    state = fresh(state.open);
    save();
    clearLog();
  }
  endButton.addEventListener("click", function () {
    if (connected && state.sessionToken) {
      setStatus("connecting", "Ending the chat…");
      socket.emit("end_session", {});
    } else {
      forget();  // offline: the token is forgotten, so the conversation cannot be resumed
    }
    input.focus();
  });

  deleteButton.addEventListener("click", function () {
    if (!connected || !state.sessionToken) {
      note("The assistant cannot be reached right now, so the chat cannot be deleted yet.");
      return;
    }
    if (!window.confirm("Delete this chat? What you wrote and the answers are erased.")) {
      return;
    }
    setStatus("connecting", "Deleting the chat…");
    socket.emit("end_session", { erase: true });
    input.focus();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (sendMessage(text, text)) input.value = "";
  });

  // --- opening and closing --------------------------------------------------------------
  function setOpen(open, focus) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.textContent = open ? "Hide the chat" : "Chat with our privacy assistant";
    state.open = open;
    save();
    if (open && focus) input.focus();
    if (!open && focus) launcher.focus();
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
  closeButton.addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") setOpen(false, true);
  });

  renderNotice();
  state.history.forEach(render);
  setOpen(Boolean(state.open), false);
}());
