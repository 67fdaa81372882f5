/* The agent console: log in, watch the queue (polled every 2 s), open a conversation (its
 * transcript polled every 2 s), take it over, reply, hand it back or close it. Privacy
 * admins also get the Requests tab, the fulfilment workbench: filter, sort and page the
 * privacy requests, open one, and verify, start, extend, complete (in whole or in part),
 * deny (with its grounds), mark it a duplicate or record an agent's signed permission, and
 * see the privacy opt-outs (do not sell or share, limit sensitive uses) as they were
 * received; the Appeals tab, where an appeal is decided in writing on its request's page;
 * and the Metrics tab, a calendar year's figures with their CSV.
 * Every POST carries the session's CSRF token in X-CSRF-Token. Data goes into the page
 * through textContent only. */
(function () {
  "use strict";

  var API = "/console/api";
  var POLL_MS = 2000;
  var csrf = null;
  var me = null;
  var selected = null;
  var timer = null;
  var lastTranscript = []; // the lines shown, as JSON

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
    resetWorkbench();
    $("app-view").hidden = true; $("logout").hidden = true; $("who").hidden = true;
    $("login-view").hidden = false;
    $("login-email").focus();
  }

  // `focus`: the agent just logged in, and the form that had the focus is gone: the queue's
  // heading takes it (not the page's start).
  function showApp(session, focus) {
    csrf = session.csrf_token; me = session.agent;
    $("login-view").hidden = true; $("app-view").hidden = false;
    $("who").textContent = "Signed in as " + me.name; $("who").hidden = false;
    $("logout").hidden = false;
    TABS.slice(1).forEach(function (name) { $("tab-" + name).hidden = !isAdmin(); });
    showTab("queue");
    notice("");
    refresh();
    if (!timer) timer = setInterval(refresh, POLL_MS);
    if (focus) $("queue-title").focus();
    openFromHash();
  }

  // A link from the privacy team's Slack channel names one handoff (`#handoff-12`): it opens
  // once the agent is signed in, and whenever the hash changes to another one. A privacy
  // admin's link to a request (`#request-PR-7KQ2-M9XD`) opens its page in the workbench.
  function openFromHash() {
    var match = /^#handoff-(\d+)$/.exec(window.location.hash);
    if (match && me) { showTab("queue"); open(Number(match[1])); }
    var request = /^#request-(PR-[A-Z0-9]{4}-[A-Z0-9]{4})$/.exec(window.location.hash);
    if (request && isAdmin()) { showTab("requests"); openRequest(request[1]); }
  }
  window.addEventListener("hashchange", openFromHash);

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    call("POST", "/login", { email: $("login-email").value, password: $("login-password").value })
      .then(function (session) { $("login-password").value = ""; showApp(session, true); })
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

  // Text that only changes when it differs: a live region set to the same words every poll
  // would be read out again.
  function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

  function queueEntry(id) {
    var li = el("li", { "class": "queue-item" });
    var button = el("button", { type: "button", "data-handoff": String(id) });
    button.append(el("strong"), el("span"), el("span", { "class": "meta" }));
    button.addEventListener("click", function () { open(id); });
    li.append(button);
    return li;
  }

  // The queue is updated in place every poll: an entry keeps its button (and the keyboard
  // focus on it) while its handoff is listed; entries move only when the order changes.
  function renderQueue(queue) {
    setText($("online"), queue.agents_online + " agent(s) online");
    var list = $("queue-list");
    var entries = {};
    Array.prototype.forEach.call(list.children, function (li) {
      entries[li.firstChild.getAttribute("data-handoff")] = li;
    });
    var order = queue.handoffs.map(function (item) { return String(item.handoff.id); });
    var same = Array.prototype.map.call(list.children, function (li) {
      return li.firstChild.getAttribute("data-handoff");
    }).join() === order.join();
    var focused = document.activeElement && document.activeElement.getAttribute("data-handoff");
    $("queue-empty").hidden = queue.handoffs.length > 0;
    queue.handoffs.forEach(function (item) {
      var h = item.handoff;
      var li = entries[String(h.id)] || queueEntry(h.id);
      var button = li.firstChild;
      li.className = "queue-item" + (selected === h.id ? " selected" : "");
      button.setAttribute("aria-current", selected === h.id ? "true" : "false");
      var state = h.status === "waiting" ? "Waiting" :
        (item.mine ? "Active (you)" : "Active (" + (h.agent_name || "agent") + ")");
      setText(button.children[0], state + " · " + age(item.age_seconds));
      setText(button.children[1], h.reason);
      setText(button.children[2], "Channel: " + h.channel + " · conversation " + h.handle);
      if (!same) list.append(li);
    });
    Object.keys(entries).forEach(function (id) {
      if (order.indexOf(id) < 0) list.removeChild(entries[id]);
    });
    if (!same && focused) {
      var again = list.querySelector('[data-handoff="' + focused + '"]');
      if (again) again.focus({ preventScroll: true });
    }
  }

  // Resolves once the queue and the open conversation are shown as they are now.
  function refresh() {
    return Promise.all([
      call("GET", "/handoffs").then(renderQueue).catch(function (err) {
        if (err.status !== 401) notice("The queue could not be loaded: " + err.message);
      }),
      selected !== null ? loadConversation(selected, false) : null,
    ]);
  }

  // --- one conversation -----------------------------------------------------------------
  function open(id) {
    selected = id;
    lastTranscript = [];
    $("transcript-lines").textContent = "";
    $("conversation").hidden = false;
    Array.prototype.forEach.call($("queue-list").children, function (li) {
      var mine = li.firstChild.getAttribute("data-handoff") === String(id);
      li.className = "queue-item" + (mine ? " selected" : "");
      li.firstChild.setAttribute("aria-current", String(mine));
    });
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

    // New lines are appended: the log's live region then announces only them. A transcript
    // that changed otherwise (a line edited away) is drawn again.
    var lines = data.transcript.map(function (line) { return JSON.stringify(line); });
    var kept = lastTranscript.length <= lines.length && lastTranscript.every(
      function (line, i) { return line === lines[i]; });
    if (!kept || lines.length > lastTranscript.length) {
      var list = $("transcript-lines");
      if (!kept) list.textContent = "";
      var fresh = data.transcript.slice(kept ? lastTranscript.length : 0);
      lastTranscript = lines;
      fresh.forEach(function (line) {
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
      $("transcript").scrollTop = $("transcript").scrollHeight;
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
    return call("GET", "/handoffs/" + id).then(function (data) {
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
      .then(function () { return refresh(); })
      .catch(function (err) { notice(err.message); });
  }

  // The button pressed disappears once the conversation is shown as it now is: the focus
  // moves on (to the reply box once the agent has the chat, else to the conversation's
  // heading) instead of being lost to the page.
  function focusAfter() {
    var reply = $("reply-text");
    if (!$("reply-form").hidden) reply.focus();
    else if (!$("conversation").hidden) $("conversation-title").focus();
    else $("queue-title").focus();
  }
  $("take").addEventListener("click", function () { act("/take").then(focusAfter); });
  $("handback").addEventListener("click", function () { act("/handback").then(focusAfter); });
  $("close").addEventListener("click", function () { act("/close").then(focusAfter); });
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

  // --- tabs: the handoff queue, and the requests (privacy admins) -------------------------
  function isAdmin() { return !!me && me.role === "privacy_admin"; }

  // The tabs, in order: the queue for every agent, the others for privacy admins.
  var TABS = ["queue", "requests", "appeals", "metrics"];

  function showTab(name) {
    if (!isAdmin()) name = "queue";
    TABS.forEach(function (tab) {
      $("tab-" + tab).setAttribute("aria-selected", String(tab === name));
      $("tab-" + tab).tabIndex = tab === name ? 0 : -1;
      $(tab + "-view").hidden = tab !== name;
    });
    if (name === "requests" && !list.loaded) { loadList(); loadOptOuts(); }
    if (name === "appeals") loadAppeals();
    if (name === "metrics" && !metricsShown) showMetrics(defaultYear());
  }

  TABS.forEach(function (tab) {
    $("tab-" + tab).addEventListener("click", function () { showTab(tab); });
  });
  // Arrow keys move between the tabs, as in every tab list.
  document.querySelector("[role=tablist]").addEventListener("keydown", function (event) {
    if (["ArrowLeft", "ArrowRight", "Home", "End"].indexOf(event.key) < 0 || !isAdmin()) return;
    event.preventDefault();
    var at = TABS.filter(function (tab) {
      return $("tab-" + tab).getAttribute("aria-selected") === "true";
    })[0];
    var i = TABS.indexOf(at);
    var next = event.key === "Home" ? TABS[0] : event.key === "End" ? TABS[TABS.length - 1] :
      TABS[(i + (event.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
    showTab(next);
    $("tab-" + next).focus();
  });

  // --- the requests list ----------------------------------------------------------------
  var PER_PAGE = 25;
  var OPEN = { pending_verification: true, verified: true, in_progress: true };
  var STATUS_LABELS = { pending_verification: "Pending verification", verified: "Verified",
    in_progress: "In progress", completed: "Completed", rejected: "Denied",
    closed_unverified: "Closed unverified", duplicate: "Duplicate" };
  var DENIAL_LABELS = { identity_not_verified: "The requester could not be verified",
    agent_not_authorized: "The agent's authority was not confirmed",
    exemption: "An exemption of the law applies", unfounded: "Manifestly unfounded or excessive",
    other: "Other" };
  var PERMISSION_LABELS = { consumer_confirmed: "Confirmed by the consumer",
    signed_permission: "Signed permission on file" };
  var APPEAL_LABELS = { open: "Open", granted: "Granted", denied: "Denied" };
  var TYPE_LABELS = { know: "Know", access: "Access", portability: "Portability",
    deletion: "Deletion", correction: "Correction" };
  // The columns that also sort the other way round (`-due_at`).
  var REVERSIBLE = { due_at: true, created_at: true };
  var list = { sort: "due_at", page: 1, loaded: false };
  var current = null; // the request page's data
  var pending = null; // the action waiting for its note or confirmation

  function wbError(text) {
    $("wb-error").textContent = text || "";
    $("wb-error").hidden = !text;
  }

  function resetWorkbench() {
    list = { sort: "due_at", page: 1, loaded: false };
    current = null;
    hideActionForm();
    wbError("");
    $("filters").reset();
    $("requests-body").textContent = "";
    $("opt-outs-body").textContent = "";
    $("request-page").hidden = true;
    $("request-list").hidden = false;
    $("opt-outs").hidden = false;
    $("appeals-body").textContent = "";
    $("metrics-body").textContent = "";
    $("metrics-csv").hidden = true;
    metricsShown = false;
    TABS.slice(1).forEach(function (name) { $("tab-" + name).hidden = true; });
    showTab("queue");
  }

  // Due dates are the end of a UTC day: shown as that day wherever the admin is.
  function day(value) {
    return value ? new Date(value).toLocaleDateString(undefined,
      { timeZone: "UTC", year: "numeric", month: "short", day: "numeric" }) : "";
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function daysLeft(item) {
    if (item.status === "closed_unverified") return "closed";
    if (!OPEN[item.status]) return "answered";
    if (item.days_left < 0) return plural(-item.days_left, "day") + " overdue";
    if (item.days_left === 0) return "due today";
    return plural(item.days_left, "day");
  }

  function isOverdue(item) { return OPEN[item.status] && item.days_left < 0; }

  function listQuery() {
    var q = new URLSearchParams();
    [["status", "f-status"], ["type", "f-type"], ["jurisdiction", "f-jurisdiction"]]
      .forEach(function (pair) { if ($(pair[1]).value) q.set(pair[0], $(pair[1]).value); });
    var due = $("f-due").value.trim();
    if (due !== "") q.set("due_within_days", due);
    if ($("f-overdue").checked) q.set("overdue", "true");
    q.set("sort", list.sort);
    q.set("page", String(list.page));
    q.set("per_page", String(PER_PAGE));
    return q.toString();
  }

  function loadList() {
    wbError("");
    return call("GET", "/requests?" + listQuery()).then(renderList).catch(function (err) {
      if (err.status !== 401) wbError("The requests could not be loaded: " + err.message);
    });
  }

  function cell(row, text, attrs) { var td = el("td", attrs, text); row.append(td); return td; }

  function renderJurisdictions(choices) {
    var select = $("f-jurisdiction");
    var chosen = select.value;
    select.textContent = "";
    select.append(el("option", { value: "" }, "Any"));
    choices.forEach(function (j) { select.append(el("option", { value: j }, j)); });
    select.value = choices.indexOf(chosen) >= 0 ? chosen : "";
  }

  // What the list says besides the status: an agent's request, a duplicate, an appeal.
  function tags(item) {
    var found = [];
    if (item.agent) found.push(item.awaiting_consumer ? "Agent: awaiting consumer" : "Agent");
    if (item.duplicate_of) found.push("Duplicate of " + item.duplicate_of);
    if (item.appeal) found.push("Appeal " + (APPEAL_LABELS[item.appeal] || item.appeal));
    return found;
  }

  function renderList(data) {
    list.loaded = true;
    // Past the last page (requests moved on since): show the last one instead.
    if (!data.items.length && data.total > 0 && list.page > 1) {
      list.page = Math.ceil(data.total / PER_PAGE);
      return loadList();
    }
    renderJurisdictions(data.jurisdictions);
    var body = $("requests-body");
    body.textContent = "";
    data.items.forEach(function (item) {
      var row = el("tr", { "class": "request-row" + (isOverdue(item) ? " overdue" : "") });
      var ref = el("button", { type: "button", "class": "link" }, item.reference);
      var first = el("th", { scope: "row" });
      first.append(ref);
      row.append(first);
      cell(row, TYPE_LABELS[item.type] || item.type);
      var status = cell(row, (STATUS_LABELS[item.status] || item.status) +
        (item.erased ? " (erased)" : ""));
      tags(item).forEach(function (tag) { status.append(el("span", { "class": "tag" }, tag)); });
      cell(row, item.jurisdiction);
      cell(row, day(item.created_at));
      cell(row, day(item.due_at));
      cell(row, daysLeft(item), { "class": "days" });
      row.addEventListener("click", function () { openRequest(item.reference); });
      body.append(row);
    });
    var first = (data.page - 1) * data.per_page + 1;
    var last = first + data.items.length - 1;
    $("requests-range").textContent = data.total === 0 ? "No requests" :
      first + "–" + last + " of " + data.total;
    $("requests-empty").hidden = data.items.length > 0;
    $("page-prev").disabled = data.page <= 1;
    $("page-next").disabled = last >= data.total;
    document.querySelectorAll("#requests-table th[data-sort]").forEach(function (th) {
      var key = th.getAttribute("data-sort");
      th.setAttribute("aria-sort", list.sort === key ? "ascending" :
        list.sort === "-" + key ? "descending" : "none");
    });
    return null;
  }

  document.querySelectorAll("#requests-table th[data-sort] button").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.parentNode.getAttribute("data-sort");
      list.sort = list.sort === key && REVERSIBLE[key] ? "-" + key : key;
      list.page = 1;
      loadList();
    });
  });
  $("filters").addEventListener("submit", function (event) {
    event.preventDefault();
    list.page = 1;
    loadList();
  });
  // The form's fields are cleared after the reset event: load the list once they are.
  $("filters").addEventListener("reset", function () {
    if (!list.loaded) return;
    setTimeout(function () { list.page = 1; loadList(); }, 0);
  });
  $("page-prev").addEventListener("click", function () {
    if (list.page > 1) { list.page -= 1; loadList(); }
  });
  $("page-next").addEventListener("click", function () { list.page += 1; loadList(); });

  // --- the privacy opt-outs -------------------------------------------------------------
  var OPT_OUT_KINDS = { sale_sharing: "Do not sell or share",
    limit_sensitive: "Limit sensitive information" };
  var OPT_OUT_SOURCES = { chat: "Chat", gpc: "Global Privacy Control" };

  function loadOptOuts() {
    return call("GET", "/opt-outs").then(function (items) {
      var body = $("opt-outs-body");
      body.textContent = "";
      items.forEach(function (o) {
        var row = el("tr", { "class": "opt-out-row" });
        row.append(el("th", { scope: "row" }, o.reference));
        cell(row, OPT_OUT_KINDS[o.kind] || o.kind);
        cell(row, OPT_OUT_SOURCES[o.source] || o.source);
        cell(row, day(o.received_at));
        cell(row, day(o.due_date));
        cell(row, o.erased ? "erased (deletion request)" : o.email ?
          o.email + (o.linked_at ? " (linked " + day(o.linked_at) + ")" : "") :
          "not linked: browser only (" + (o.conversation || "chat deleted") + ")");
        body.append(row);
      });
      $("opt-outs-empty").hidden = items.length > 0;
      body.closest(".table-wrap").hidden = items.length === 0;
    }).catch(function (err) {
      if (err.status !== 401) wbError("The opt-outs could not be loaded: " + err.message);
    });
  }

  // --- one request's page ---------------------------------------------------------------
  var AUDIT_LABELS = { created: "Filed", status_changed: "Status changed",
    extended: "Deadline extended", verification_code_sent: "Code emailed",
    export_created: "Export made", erasure_started: "Erasure started", erased: "Erased",
    marked_duplicate: "Marked as a duplicate", agent_verified: "Agent's address verified",
    appeal_filed: "Appeal filed", reopened_on_appeal: "Reopened on appeal",
    appeal_decided: "Appeal decided", appeal_extended: "Appeal extended",
    agent_permission_recorded: "Signed permission recorded" };

  function openRequest(reference) {
    wbError("");
    return call("GET", "/requests/" + encodeURIComponent(reference)).then(function (data) {
      $("action-done").textContent = "";
      $("appeal-done").textContent = "";
      renderRequest(data);
      $("request-list").hidden = true;
      $("opt-outs").hidden = true;
      $("request-page").hidden = false;
      $("request-title").focus();
    }).catch(function (err) { if (err.status !== 401) wbError(err.message); });
  }

  $("back-to-list").addEventListener("click", function () {
    current = null;
    hideActionForm();
    wbError("");
    $("request-page").hidden = true;
    $("request-list").hidden = false;
    $("opt-outs").hidden = false;
    loadList().then(function () { $("requests-title").focus(); });
  });
  $("requests-title").setAttribute("tabindex", "-1");

  function shown(value) {
    return value !== null && typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  // "status: verified → in_progress", one part per field the audit row names.
  function change(event) {
    var before = event.before || {}, after = event.after || {};
    var keys = Object.keys(after).concat(Object.keys(before).filter(function (k) {
      return !(k in after);
    }));
    return keys.map(function (k) {
      var was = k in before ? shown(before[k]) + " → " : "";
      return k + ": " + was + (k in after ? shown(after[k]) : "(removed)");
    }).join("; ");
  }

  // Fill a table's body, one row per item; with `emptyId`, an empty table gives way to the
  // paragraph that says so.
  function tableRows(bodyId, emptyId, items, fill) {
    var body = $(bodyId);
    body.textContent = "";
    if (emptyId) {
      $(emptyId).hidden = items.length > 0;
      body.closest(".table-wrap").hidden = items.length === 0;
    }
    items.forEach(function (item) { var row = el("tr"); fill(row, item); body.append(row); });
  }

  function renderRequest(data) {
    current = data;
    $("request-title").textContent = "Request " + data.reference;
    var facts = $("request-facts");
    facts.textContent = "";
    fact(facts, "Type", TYPE_LABELS[data.type] || data.type);
    fact(facts, "Status", STATUS_LABELS[data.status] || data.status);
    fact(facts, "Jurisdiction", data.jurisdiction);
    fact(facts, "Received", when(data.created_at));
    fact(facts, "Verified", when(data.verified_at));
    var due = el("dd", { "class": isOverdue(data) ? "overdue" : "" },
      day(data.due_at) + " · " + daysLeft(data));
    facts.append(el("dt", {}, "Due"), due);
    fact(facts, "Extensions used", String(data.extensions_used) +
      (data.extension_reason ? " (" + data.extension_reason + ")" : ""));
    fact(facts, "Erased", when(data.erased_at));
    fact(facts, "Receipt confirmed", when(data.receipt_confirmed_at));
    if (!data.receipt_confirmed_at && data.receipt_due) {
      fact(facts, "Receipt due", day(data.receipt_due));
    }
    if (data.status === "completed") {
      fact(facts, "Complied", data.partial ? "In part" : "In whole");
    }
    fact(facts, "Grounds of the denial", DENIAL_LABELS[data.denial_reason] || data.denial_reason);
    if (data.duplicate_of) {
      var first = el("button", { type: "button", "class": "link" }, data.duplicate_of);
      first.addEventListener("click", function () { openRequest(data.duplicate_of); });
      var dd = el("dd");
      dd.append(first);
      facts.append(el("dt", {}, "Duplicate of"), dd);
    }

    var requester = $("requester-facts");
    requester.textContent = "";
    var r = data.requester;
    fact(requester, "Email", r.email);
    fact(requester, "Name", r.name);
    fact(requester, "Region", r.region);
    fact(requester, "Filed by an authorized agent", r.authorized_agent ? "Yes" : "No");
    fact(requester, "Agent's address", data.agent_email);
    if (data.agent_email || r.authorized_agent) {
      fact(requester, "Agent's permission", PERMISSION_LABELS[data.agent_permission] ||
        (data.awaiting_consumer ? "Awaiting the consumer's confirmation" : "Not established yet"));
    }
    fact(requester, "Channel", r.channel);

    $("details-title").textContent = data.type === "correction" ? "Correction asked for" :
      "Details";
    $("request-details").textContent = data.details ||
      (data.erased_at ? "Erased with the requester's data." : "None given.");

    var buttons = $("request-actions");
    buttons.textContent = "";
    $("no-actions").hidden = data.actions.length > 0;
    data.actions.forEach(function (action) {
      var spec = actionSpec(action, data);
      var button = el("button", { type: "button", "data-action": action,
        "class": action === "deny" ? "secondary" : "" }, spec.label);
      button.addEventListener("click", function () { choose(action); });
      buttons.append(button);
    });

    renderAppeal(data.appeal);

    tableRows("audit-body", null, data.audit, function (row, e) {
      cell(row, when(e.at));
      cell(row, e.actor);
      cell(row, AUDIT_LABELS[e.action] || e.action);
      cell(row, change(e), { "class": "wrap" });
      cell(row, e.note || "", { "class": "wrap" });
    });
    tableRows("conversations-body", "conversations-empty", data.conversations,
      function (row, c) {
        cell(row, c.handle);
        cell(row, when(c.verified_at));
        cell(row, String(c.handoffs));
      });
    tableRows("exports-body", "exports-empty", data.exports, function (row, x) {
      cell(row, when(x.created_at));
      cell(row, when(x.expires_at));
      cell(row, x.available ? "Open (emailed to the requester)" : "Expired");
      var downloads = cell(row, x.downloads.length ? "" : "Not downloaded yet");
      if (x.downloads.length) {
        var items = el("ul", { "class": "plain" });
        x.downloads.forEach(function (d) {
          items.append(el("li", {}, d.format.toUpperCase() + " · " + when(d.at)));
        });
        downloads.append(items);
      }
    });
  }

  // --- the actions ----------------------------------------------------------------------
  // What each button says, and for the actions that need one, what the confirmation
  // explains and what the note is for (a required note is what the service records and
  // emails to the requester).
  function actionSpec(action, data) {
    if (action === "verify") return { label: "Verify", done: "Verified: the requester is " +
      "emailed the confirmation of receipt." };
    if (action === "start") return { label: "Start", done: "Started: the request is in " +
      "progress." };
    if (action === "extend") return { label: "Extend the deadline", confirm: "Extend",
      explain: "This uses the extension that " + data.jurisdiction + " allows and moves the " +
        "due date; the requester is emailed the new date and your reason.",
      note: "Reason for the extension (emailed to the requester)",
      done: "Extended: the requester is emailed the new due date." };
    if (action === "deny") return { label: "Deny", confirm: "Deny the request",
      explain: "This closes the request unfulfilled; the requester is emailed your reason " +
        "and how to appeal.",
      note: "Reason for denying (emailed to the requester)", reason: true,
      done: "Denied: the requester is emailed the reason and how to appeal." };
    if (action === "mark_duplicate") return { label: "Mark as duplicate of…",
      confirm: "Mark as duplicate", duplicate: true,
      explain: "This closes the request as a duplicate of an open request of the same kind " +
        "for the same person: no second clock; the requester is emailed the first request's " +
        "reference and due date.",
      done: "Marked as a duplicate: the requester is emailed the first request." };
    if (action === "record_permission") return { label: "Record signed permission",
      confirm: "Record the permission",
      explain: "The consumer has not confirmed the agent: record that you hold the consumer's " +
        "signed permission for this agent, and the request is verified.",
      note: "What signed permission you hold (recorded in the audit trail)",
      done: "Permission recorded: the request is verified." };
    var spec = { label: "Complete", confirm: "Complete the request", partial: true,
      done: "Completed: the requester is emailed the answer." };
    if (data.type === "deletion") {
      spec.explain = "Completing erases this address's data: its conversations with the " +
        "assistant (transcripts and handoffs), verification codes, marketing choices and " +
        "their history, exports and the emails sent to it. The request records stay without " +
        "the requester's details, and the address stays opted out of marketing. This cannot " +
        "be undone.";
    } else if (data.type === "correction") {
      spec.explain = "Completing records what you corrected and emails it to the requester. " +
        "Make the correction in the systems that hold the data first.";
      spec.note = "What was corrected (emailed to the requester)";
    } else {
      spec.explain = "Completing makes an export of everything held about this address " +
        "(its requests, marketing choices, conversations with the assistant and their " +
        "handoffs) and emails the requester a link to it that expires.";
    }
    return spec;
  }

  function hideActionForm() {
    pending = null;
    $("action-form").hidden = true;
    $("action-note").value = "";
    $("action-duplicate").value = "";
    $("action-partial").checked = false;
    $("action-reason").value = "other";
  }

  // The note's label and whether it is needed: a partial completion needs one (what was
  // withheld and why), whatever the type.
  function noteFor(action) {
    var spec = actionSpec(action, current);
    if (spec.partial && $("action-partial").checked) {
      return "What was withheld and why (emailed to the requester)";
    }
    return spec.note;
  }

  function showNote(action) {
    var note = noteFor(action);
    $("action-note-label").textContent = note || "";
    $("action-note-label").hidden = !note;
    $("action-note").hidden = !note;
    $("action-note").required = !!note;
  }

  function choose(action) {
    var spec = actionSpec(action, current);
    wbError("");
    if (!spec.explain) { run(action, undefined); return; }
    pending = action;
    $("action-explain").textContent = spec.explain;
    $("action-partial").checked = false;
    $("action-duplicate").value = "";
    $("action-reason").value = "other";
    $("action-duplicate-field").hidden = !spec.duplicate;
    $("action-duplicate").required = !!spec.duplicate;
    $("action-partial-field").hidden = !spec.partial;
    $("action-reason-field").hidden = !spec.reason;
    showNote(action);
    $("action-note").value = "";
    $("action-confirm").textContent = spec.confirm;
    $("action-form").hidden = false;
    (spec.duplicate ? $("action-duplicate") : spec.note ? $("action-note") :
      $("action-confirm")).focus();
  }

  function busy(on) {
    document.querySelectorAll("#request-actions button, #action-form button")
      .forEach(function (button) { button.disabled = on; });
  }

  $("action-partial").addEventListener("change", function () {
    if (pending) showNote(pending);
  });

  function run(action, note) {
    if (!current) return;
    var spec = actionSpec(action, current);
    var body = { action: action };
    if (note !== undefined) body.note = note;
    if (spec.reason) body.denial_reason = $("action-reason").value;
    if (spec.partial && $("action-partial").checked) body.partial = true;
    if (spec.duplicate) body.duplicate_of = $("action-duplicate").value.trim();
    busy(true);
    $("action-done").textContent = "";
    call("POST", "/requests/" + encodeURIComponent(current.reference) + "/actions", body)
      .then(function (data) {
        hideActionForm();
        renderRequest(data);
        $("action-done").textContent = body.partial ?
          "Completed in part: the requester is emailed what was withheld and why." : spec.done;
        list.loaded = false; // statuses changed: the list reloads when shown again
        // The button pressed may be gone: the focus goes to the actions' heading, above
        // what was said and what can be done now.
        $("actions-title").focus();
      }, function (err) {
        wbError(err.message);
      })
      .then(function () { busy(false); });
  }

  $("action-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!pending) return;
    var needsNote = $("action-note").required;
    var note = $("action-note").value.trim();
    if ($("action-duplicate").required && !$("action-duplicate").value.trim()) {
      wbError("Give the reference of the first request.");
      $("action-duplicate").focus();
      return;
    }
    if (needsNote && !note) {
      wbError("Write the note first: it is recorded and emailed to the requester.");
      $("action-note").focus();
      return;
    }
    run(pending, needsNote ? note : undefined);
  });
  $("action-cancel").addEventListener("click", function () {
    var action = pending;
    hideActionForm();
    var button = document.querySelector('#request-actions [data-action="' + action + '"]');
    if (button) button.focus();
  });

  // --- the appeal on a request's page -----------------------------------------------------
  function renderAppeal(appeal) {
    $("appeal-section").hidden = !appeal;
    if (!appeal) return;
    var facts = $("appeal-facts");
    facts.textContent = "";
    fact(facts, "Reference", appeal.reference);
    fact(facts, "Status", APPEAL_LABELS[appeal.status] || appeal.status);
    fact(facts, "Received", when(appeal.received_at));
    fact(facts, "Due", day(appeal.due_at));
    fact(facts, "The person's reasons", appeal.reason);
    fact(facts, "Decided", appeal.decided_at ?
      when(appeal.decided_at) + (appeal.decided_by ? " by " + appeal.decided_by : "") : "");
    fact(facts, "Written decision", appeal.decision);
    var open = appeal.status === "open";
    $("appeal-decide-form").hidden = !open;
    $("appeal-extend-form").hidden = !(open && appeal.extendable);
  }

  function appealBusy(on) {
    document.querySelectorAll("#appeal-section button").forEach(function (button) {
      button.disabled = on;
    });
  }

  function appealCall(path, body, done, field) {
    if (!current || !current.appeal) return;
    var reference = current.reference;
    wbError("");
    appealBusy(true);
    $("appeal-done").textContent = "";
    call("POST", "/appeals/" + encodeURIComponent(current.appeal.reference) + path, body)
      .then(function () {
        return call("GET", "/requests/" + encodeURIComponent(reference));
      })
      .then(function (data) {
        $("appeal-reason").value = "";
        $("appeal-extend-reason").value = "";
        document.querySelectorAll("[name=appeal-outcome]").forEach(function (radio) {
          radio.checked = false;
        });
        renderRequest(data);
        $("appeal-done").textContent = done;
        list.loaded = false;
        $("appeal-title").focus();
      }, function (err) {
        if (err.status !== 401) { wbError(err.message); $(field).focus(); }
      })
      .then(function () { appealBusy(false); });
  }

  $("appeal-decide-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var chosen = document.querySelector("[name=appeal-outcome]:checked");
    var reason = $("appeal-reason").value.trim();
    if (!chosen) {
      wbError("Choose whether the appeal is granted or denied.");
      $("appeal-granted").focus();
      return;
    }
    if (!reason) {
      wbError("Write the decision first: it is sent to the person and kept.");
      $("appeal-reason").focus();
      return;
    }
    appealCall("/decision", { outcome: chosen.value, reason: reason },
      chosen.value === "granted" ?
        "Appeal granted: the request is reopened and the person is told so." :
        "Appeal denied: the person is sent your decision and how to complain.",
      "appeal-reason");
  });

  $("appeal-extend-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var reason = $("appeal-extend-reason").value.trim();
    if (!reason) {
      wbError("Write the reason first: it is sent to the person.");
      $("appeal-extend-reason").focus();
      return;
    }
    appealCall("/extend", { reason: reason },
      "Appeal extended: the person is sent the new due date.", "appeal-extend-reason");
  });

  // --- the appeals list -------------------------------------------------------------------
  function appealsError(text) {
    $("appeals-error").textContent = text || "";
    $("appeals-error").hidden = !text;
  }

  function loadAppeals() {
    appealsError("");
    var status = $("a-status").value;
    return call("GET", "/appeals?per_page=100" + (status ? "&status=" + status : ""))
      .then(function (data) {
        tableRows("appeals-body", "appeals-empty", data.items, function (row, a) {
          row.append(el("th", { scope: "row" }, a.reference));
          var open = el("button", { type: "button", "class": "link" }, a.request_reference);
          open.addEventListener("click", function () {
            showTab("requests");
            openRequest(a.request_reference);
          });
          var td = el("td");
          td.append(open);
          row.append(td);
          cell(row, TYPE_LABELS[a.request_type] || a.request_type);
          cell(row, a.jurisdiction);
          cell(row, APPEAL_LABELS[a.status] || a.status);
          cell(row, day(a.received_at));
          cell(row, day(a.due_at));
        });
        setText($("appeals-range"), data.total === 0 ? "No appeals" :
          data.items.length + " of " + data.total);
      }).catch(function (err) {
        if (err.status !== 401) appealsError("The appeals could not be loaded: " + err.message);
      });
  }

  $("appeal-filters").addEventListener("submit", function (event) {
    event.preventDefault();
    loadAppeals();
  });

  // --- the yearly metrics -----------------------------------------------------------------
  var metricsShown = false;
  var METRIC_LABELS = { sale_sharing: "Opt-out: do not sell or share",
    limit_sensitive: "Opt-out: limit sensitive information", appeals: "Appeals" };

  function defaultYear() { return new Date().getUTCFullYear(); }

  function metricsError(text) {
    $("metrics-error").textContent = text || "";
    $("metrics-error").hidden = !text;
  }

  function figure(value) { return value === null || value === undefined ? "–" : String(value); }
  // Days, as the CSV has them: one decimal.
  function days(value) { return value === null || value === undefined ? null : value.toFixed(1); }

  function metricRow(label, values) {
    var row = el("tr");
    row.append(el("th", { scope: "row" }, label));
    values.forEach(function (value) { cell(row, figure(value)); });
    $("metrics-body").append(row);
  }

  function showMetrics(year) {
    metricsError("");
    $("metrics-year").value = String(year);
    return call("GET", "/metrics?year=" + year).then(function (data) {
      metricsShown = true;
      $("metrics-body").textContent = "";
      data.types.forEach(function (t) {
        var d = t.denied_by_reason;
        metricRow(TYPE_LABELS[t.request_type] || METRIC_LABELS[t.request_type] ||
          t.request_type, [t.received, t.complied_in_whole, t.complied_in_part, t.denied,
          d.identity_not_verified, d.agent_not_authorized, d.exemption, d.unfounded, d.other,
          t.open, t.duplicates, days(t.median_days), days(t.mean_days)]);
      });
      var a = data.appeals;
      metricRow("Appeals", [a.received, a.granted, null, a.denied, null,
        null, null, null, null, a.open, null, days(a.median_days), days(a.mean_days)]);
      $("metrics-caption").firstChild.textContent = "Requests received in " + data.year +
        " (UTC), by type: how they were answered and the days it took; appeals by the " +
        "year they were received";
      $("metrics-csv").href = API + "/metrics.csv?year=" + data.year;
      $("metrics-csv").textContent = "Download CSV (" + data.year + ")";
      $("metrics-csv").hidden = false;
      setText($("metrics-status"), "Showing " + data.year + ".");
    }).catch(function (err) {
      if (err.status !== 401) metricsError("The metrics could not be loaded: " + err.message);
    });
  }

  $("metrics-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var year = Number($("metrics-year").value);
    if (!(year >= 2000 && year <= 9998) || Math.floor(year) !== year) {
      metricsError("Give a year, such as " + defaultYear() + ".");
      $("metrics-year").focus();
      return;
    }
    showMetrics(year);
  });

  call("GET", "/session").then(showApp).catch(function () { showLogin(); });
}());
