// The inbox page: 待办 (open documents waiting for me, copies, mine decided) and 已处理 (the history,
// paged), on the helpers of app.js.
(function () {
  "use strict";

  var gw = window.gw;
  var base = gw.base, $ = gw.$, api = gw.api, show = gw.show, make = gw.make, clear = gw.clear;
  var errorText = gw.errorText, toEntry = gw.toEntry, sessionGone = gw.sessionGone, dateTime = gw.dateTime;
  var STATE = gw.labels.state, DECISION = gw.labels.decision;

  function item(doc, meta, badge) {
    var li = make("li");
    var a = make("a", "item");
    a.href = base + "doc/" + encodeURIComponent(doc.id);
    var title = make("span", "title");
    if (doc.type) { title.appendChild(make("span", "tag", doc.type)); }
    title.appendChild(document.createTextNode(doc.title || doc.id));
    a.appendChild(title);
    var line = make("span", "meta");
    if (badge) { line.appendChild(make("span", "tag " + badge[1], badge[0])); }
    line.appendChild(document.createTextNode(meta.filter(Boolean).join(" · ")));
    a.appendChild(line);
    li.appendChild(a);
    return li;
  }

  function fillList(name, docs, labelOf) {
    var list = $("list-" + name);
    clear(list);
    docs.forEach(function (doc) {
      list.appendChild(item(doc, [doc.applicant_name ? doc.applicant_name + " 提交" : "", dateTime(doc.created_at),
        labelOf(doc)]));
    });
    list.hidden = docs.length === 0;
    var empty = $("empty-" + name);
    if (empty) { empty.hidden = docs.length > 0; }
    var count = $("count-" + name);
    if (count) { count.textContent = String(docs.length); count.hidden = docs.length === 0; }
  }

  function loadInbox() {
    var msg = $("inbox-msg");
    api("GET", "inbox").then(function (res) {
      if (sessionGone(res)) { return; }
      if (!res.ok || !res.data) { show(msg, errorText(res, "inbox")); $("me-name").textContent = ""; return; }
      var account = res.data.account || {};
      $("me-name").textContent = account.name || account.login || "";
      $("me-sub").textContent = [account.login, account.position].filter(Boolean).join(" · ");
      $("me-avatar").textContent = (account.name || account.login || "?").slice(-2);
      var docs = res.data.documents || [];
      var waiting = docs.filter(function (d) { return d.status === "waiting"; });
      var copies = docs.filter(function (d) { return d.status === "cc"; });
      var done = docs.filter(function (d) { return d.status === "decided"; });
      fillList("wait", waiting, function () { return "待我审批"; });
      fillList("cc", copies, function () { return "抄送 · 审批中"; });
      fillList("done", done, function () { return "已处理 · 等待其他审批人"; });
      $("done-section").hidden = done.length === 0;
    });
  }

  // 已处理: what I did (同意 / 驳回 / 已评论, or 抄送 for a copy I only read) and how it ended.
  function historyItem(doc) {
    var mine = doc.my_decision ? DECISION[doc.my_decision] : (doc.commented ? "已评论" : "抄送");
    var kind = doc.my_decision === "approve" ? "approve" : (doc.my_decision === "reject" ? "reject" : "cc");
    var final = doc.status === "open" ? "审批中" : (STATE[doc.status] || doc.status);
    var when = doc.closed_at || doc.decided_at || doc.commented_at;
    return item(doc, ["单据" + final, dateTime(when)], [mine, kind]);
  }

  var past = { loaded: false, after: null, busy: false };

  function loadHistory() {
    if (past.busy) { return; }
    past.busy = true;
    $("history-loading").hidden = false;
    $("history-more").hidden = true;
    var query = "history?limit=20" + (past.after ? "&after=" + encodeURIComponent(past.after) : "");
    api("GET", query).then(function (res) {
      past.busy = false;
      $("history-loading").hidden = true;
      if (sessionGone(res)) { return; }
      if (!res.ok || !res.data) { show($("history-msg"), errorText(res, "history")); return; }
      var list = $("list-history");
      (res.data.items || []).forEach(function (doc) { list.appendChild(historyItem(doc)); });
      past.loaded = true;
      past.after = res.data.next_after;
      list.hidden = !list.firstChild;
      $("empty-history").hidden = !!list.firstChild;
      $("history-more").hidden = !past.after;
    });
  }

  function select(name) {
    var onHistory = name === "history";
    $("tab-todo").setAttribute("aria-selected", String(!onHistory));
    $("tab-history").setAttribute("aria-selected", String(onHistory));
    $("panel-todo").hidden = onHistory;
    $("panel-history").hidden = !onHistory;
    if (onHistory && !past.loaded) { loadHistory(); }
  }

  $("tab-todo").addEventListener("click", function () {
    window.history.replaceState(null, "", "#todo");
    select("todo");
  });
  $("tab-history").addEventListener("click", function () {
    window.history.replaceState(null, "", "#history");
    select("history");
  });
  $("history-more").addEventListener("click", loadHistory);

  // Unbinding is asked twice (a second tap within a few seconds) rather than with a dialog.
  var armed = null;
  $("logout").addEventListener("click", function () {
    var button = this;
    if (!armed) {
      button.textContent = "再点一次确认解除";
      armed = setTimeout(function () { armed = null; button.textContent = "解除绑定"; }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.disabled = true;
    api("POST", "logout", {}).then(function (res) {
      button.disabled = false;
      button.textContent = "解除绑定";
      if (!res.ok && res.status !== 401) { show($("inbox-msg"), errorText(res, "logout")); return; }
      toEntry("inbox");
    });
  });

  loadInbox();
  select(window.location.hash === "#history" ? "history" : "todo");
}());
