/* The agent console: log in, watch the queue (polled every 2 s), open a conversation (its
 * transcript polled every 2 s), take it over, reply, hand it back or close it.
 * Every POST carries the session's CSRF token in X-CSRF-Token. */
(function () {
  "use strict";

  var API = "/console/api";
  var POLL_MS = 2000;
  var csrf = null;
  var me = null;
  var selected = null;
  var timer = null;
  var lastTranscript = "";

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function notice(text) {
    $("notice").textContent = text || "";
    $("notice").hidden = !text;
  }

  function call(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
    return fetch(API + path, { method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        if (response.status === 204) return null;
        return response.json().then(function (data) {
          if (response.status === 401 && path !== "/login") { showLogin(); }
          if (!response.ok) { var err = new Error(data.message || response.statusText);
            err.status = response.status; throw err; }
          return data;
        });
      });
  }

  // --- logging in and out ---------------------------------------------------------------
  function showLogin() {
    csrf = null; me = null; selected = null;
    if (timer) { clearInterval(timer); timer = null; }
    $("app-view").hidden = true; $("logout").hidden = true; $("who").hidden = true;
    $("login-view").hidden = false;
    $("login-email").focus();
  }

  function showApp(session) {
    csrf = session.csrf_token; me = session.agent;
    $("login-view").hidden = true; $("app-view").hidden = false;
    $("who").textContent = "Signed in as " + me.name; $("who").hidden = false;
    $("logout").hidden = false;
    notice("");
    refresh();
    if (!timer) timer = setInterval(refresh, POLL_MS);
    openFromHash();
  }

  // A link from the privacy team's Slack channel names one handoff (`#handoff-12`): it opens
  // once the agent is signed in, and whenever the hash changes to another one.
  function openFromHash() {
    var match = /^#handoff-(\d+)$/.exec(window.location.hash);
    if (match && me) open(Number(match[1]));
  }
  window.addEventListener("hashchange", openFromHash);

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    call("POST", "/login", { email: $("login-email").value, password: $("login-password").value })
      .then(function (session) { $("login-password").value = ""; showApp(session); })
      .catch(function (err) { notice(err.message); $("login-password").focus(); });
  });

  $("logout").addEventListener("click", function () {
    call("POST", "/logout").then(showLogin, showLogin);
  });

  // --- the queue ------------------------------------------------------------------------
  function age(seconds) {
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
  }

  function renderQueue(queue) {
    $("online").textContent = queue.agents_online + " agent(s) online";
    var list = $("queue-list");
    list.textContent = "";
    $("queue-empty").hidden = queue.handoffs.length > 0;
    queue.handoffs.forEach(function (item) {
      var h = item.handoff;
      var li = el("li", { "class": "queue-item" + (selected === h.id ? " selected" : "") });
      var button = el("button", { type: "button", "data-handoff": String(h.id),
        "aria-current": selected === h.id ? "true" : "false" });
      var state = h.status === "waiting" ? "Waiting" :
        (item.mine ? "Active (you)" : "Active (" + (h.agent_name || "agent") + ")");
      button.append(el("strong", {}, state + " · " + age(item.age_seconds)),
        el("span", {}, h.reason), el("span", { "class": "meta" },
          "Channel: " + h.channel + " · conversation " + h.handle));
      button.addEventListener("click", function () { open(h.id); });
      li.append(button);
      list.append(li);
    });
  }

  function refresh() {
    call("GET", "/handoffs").then(renderQueue).catch(function (err) {
      if (err.status !== 401) notice("The queue could not be loaded: " + err.message);
    });
    if (selected !== null) loadConversation(selected, false);
  }

  // --- one conversation -----------------------------------------------------------------
  function open(id) {
    selected = id;
    lastTranscript = "";
    $("conversation").hidden = false;
    loadConversation(id, true);
  }

  function fact(list, term, value) {
    if (value === null || value === undefined || value === "") return;
    list.append(el("dt", {}, term), el("dd", {}, value));
  }

  function when(value) { return value ? new Date(value).toLocaleString() : ""; }

  function renderConversation(data, focus) {
    var h = data.handoff;
    var facts = $("handoff-facts");
    facts.textContent = "";
    fact(facts, "Status", h.status + (h.agent_name ? " (" + h.agent_name + ")" : ""));
    fact(facts, "Reason", h.reason);
    fact(facts, "Summary", h.summary);
    fact(facts, "Channel", h.channel);
    fact(facts, "Conversation", h.handle);
    fact(facts, "Created", when(h.created_at));
    fact(facts, "Taken", when(h.taken_at));
    fact(facts, "Closed", when(h.closed_at));
    $("take").hidden = h.status !== "waiting";
    $("handback").hidden = !(h.status === "active" && data.mine);
    $("close").hidden = h.status === "closed" || (h.status === "active" && !data.mine);
    $("reply-form").hidden = !(h.status === "active" && data.mine);

    var signature = JSON.stringify(data.transcript);
    if (signature !== lastTranscript) {
      lastTranscript = signature;
      var list = $("transcript");
      list.textContent = "";
      data.transcript.forEach(function (line) {
        var who = line.kind === "user" ? "Visitor" : line.kind === "agent" ?
          "Agent " + (line.agent || "") : line.kind === "bot" ? "Bot" : "";
        var li = el("li", { "class": "line " + line.kind });
        if (who) li.append(el("span", { "class": "speaker" }, who + ": "));
        li.append(el("span", { "class": "said" }, line.text));
        if (line.buttons && line.buttons.length) {
          li.append(el("span", { "class": "meta" }, " [buttons: " + line.buttons.join(", ") + "]"));
        }
        list.append(li);
      });
      list.scrollTop = list.scrollHeight;
    }
    $("transcript-error").hidden = !data.transcript_error;
    $("transcript-error").textContent = data.transcript_error ?
      "The transcript could not be loaded: " + data.transcript_error : "";

    var requests = $("requests");
    requests.textContent = "";
    if (!data.requests.length) requests.append(el("li", {}, "None."));
    data.requests.forEach(function (r) {
      requests.append(el("li", {}, r.reference + " · " + r.type + " · " + r.status + " · " +
        r.email + " · due " + when(r.due_at)));
    });
    var prefs = $("preferences");
    prefs.textContent = "";
    if (!data.preference_changes.length) prefs.append(el("li", {}, "None."));
    data.preference_changes.forEach(function (c) {
      var changed = Object.keys(c.after).map(function (k) { return k + " → " + c.after[k]; });
      prefs.append(el("li", {}, when(c.created_at) + " · " + c.email + " · " + changed.join(", ")));
    });
    if (focus) $("conversation-title").focus();
  }

  function loadConversation(id, focus) {
    call("GET", "/handoffs/" + id).then(function (data) {
      if (selected === id) renderConversation(data, focus);
    }).catch(function (err) {
      if (err.status !== 401) notice(err.message);
      // Gone, or another agent's: stop polling it (a link may name any handoff).
      if ((err.status === 403 || err.status === 404) && selected === id) {
        selected = null;
        $("conversation").hidden = true;
      }
    });
  }

  function act(path, body) {
    if (selected === null) return Promise.resolve();
    notice("");
    return call("POST", "/handoffs/" + selected + path, body)
      .then(function () { refresh(); })
      .catch(function (err) { notice(err.message); });
  }

  $("take").addEventListener("click", function () {
    act("/take").then(function () { $("reply-text").focus(); });
  });
  $("handback").addEventListener("click", function () { act("/handback"); });
  $("close").addEventListener("click", function () { act("/close"); });
  $("reply-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("reply-text").value.trim();
    if (!text) return;
    act("/messages", { text: text }).then(function () {
      $("reply-text").value = ""; $("reply-text").focus();
    });
  });
  $("reply-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      $("reply-form").requestSubmit();
    }
  });

  $("conversation-title").setAttribute("tabindex", "-1");
  call("GET", "/session").then(showApp).catch(function () { showLogin(); });
}());
