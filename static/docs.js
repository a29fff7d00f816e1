// The inbox and document pages, on the helpers of app.js.
(function () {
  "use strict";

  var gw = window.gw;
  var body = gw.body, base = gw.base, $ = gw.$, api = gw.api, show = gw.show, make = gw.make, clear = gw.clear;
  var errorText = gw.errorText, toEntry = gw.toEntry, sessionGone = gw.sessionGone;
  var busy = gw.busy, dateTime = gw.dateTime;

  var DECISION = { approve: "同意", approved: "同意", reject: "驳回", rejected: "驳回" };
  var STATUS = {
    open: "审批中", pending: "待审批", waiting: "待审批", approved: "已通过", rejected: "已驳回",
    withdrawn: "已撤回", closed: "已结束", decided: "已处理", cc: "抄送"
  };

  function decisionOf(rec) { return rec && rec.decision ? String(rec.decision) : ""; }

  function inboxItem(doc, label) {
    var li = make("li");
    var a = make("a", "item");
    a.href = base + "doc/" + encodeURIComponent(doc.id);
    var title = make("span", "title");
    if (doc.type) { title.appendChild(make("span", "tag", doc.type)); }
    title.appendChild(document.createTextNode(doc.title || doc.id));
    a.appendChild(title);
    var meta = [dateTime(doc.created_at)];
    if (label) { meta.push(label); }
    a.appendChild(make("span", "meta", meta.filter(Boolean).join(" · ")));
    li.appendChild(a);
    return li;
  }

  function fillList(name, docs, labelOf) {
    var list = $("list-" + name);
    clear(list);
    docs.forEach(function (doc) { list.appendChild(inboxItem(doc, labelOf(doc))); });
    list.hidden = docs.length === 0;
    var empty = $("empty-" + name);
    if (empty) { empty.hidden = docs.length > 0; }
    var count = $("count-" + name);
    if (count) { count.textContent = String(docs.length); count.hidden = docs.length === 0; }
  }

  // An approver's document still needs this person unless a decision of theirs is recorded.
  function waitsForMe(doc) {
    if (doc.role !== "approver") { return false; }
    if (typeof doc.can_decide === "boolean") { return doc.can_decide; }
    if (doc.decision) { return false; }
    return ["approved", "rejected", "withdrawn", "closed", "decided"].indexOf(doc.status) < 0;
  }

  function inboxPage() {
    var msg = $("inbox-msg");
    api("GET", "inbox").then(function (res) {
      if (sessionGone(res)) { return; }
      if (!res.ok || !res.data) { show(msg, errorText(res, "inbox")); $("me-name").textContent = ""; return; }
      var account = res.data.account || {};
      $("me-name").textContent = account.name || account.login || "";
      $("me-sub").textContent = [account.login, account.position].filter(Boolean).join(" · ");
      $("me-avatar").textContent = (account.name || account.login || "?").slice(-2);
      var docs = (res.data.documents || []).slice().sort(function (a, b) {
        return String(b.created_at || "").localeCompare(String(a.created_at || ""));
      });
      var waiting = docs.filter(waitsForMe);
      var copies = docs.filter(function (d) { return d.role === "cc"; });
      var done = docs.filter(function (d) { return d.role === "approver" && !waitsForMe(d); });
      fillList("wait", waiting, function () { return "待我审批"; });
      fillList("cc", copies, function (d) { return STATUS[d.status] || ""; });
      fillList("done", done, function (d) { return DECISION[d.decision] || STATUS[d.status] || d.status || ""; });
      $("done-section").hidden = done.length === 0;
    });
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
        if (!res.ok && res.status !== 401) { show(msg, errorText(res, "logout")); return; }
        toEntry("inbox");
      });
    });
  }

  function renderRecipients(doc) {
    var list = $("recipients");
    clear(list);
    var recipients = doc.recipients || [];
    recipients.forEach(function (rec) {
      var li = make("li");
      var head = make("div");
      var me = rec.login === body.getAttribute("data-login");
      head.appendChild(make("span", "who", me ? "我（" + rec.login + "）" : (rec.name || rec.login)));
      head.appendChild(document.createTextNode(" "));
      var decision = decisionOf(rec);
      if (rec.role === "cc") {
        head.appendChild(make("span", "tag cc", "抄送"));
      } else if (decision) {
        var ok = decision.indexOf("approve") === 0;
        head.appendChild(make("span", "tag " + (ok ? "approve" : "reject"), DECISION[decision] || decision));
      } else {
        head.appendChild(make("span", "tag wait", "待审批"));
      }
      li.appendChild(head);
      if (rec.decided_at) { li.appendChild(make("div", "when", dateTime(rec.decided_at))); }
      if (rec.comment) { li.appendChild(make("p", "comment", rec.comment)); }
      list.appendChild(li);
    });
    $("recipients-card").hidden = recipients.length === 0;
  }

  function myRecord(doc) {
    var login = body.getAttribute("data-login");
    var recs = (doc.recipients || []).filter(function (r) { return r.login === login && r.role === "approver"; });
    return recs.length ? recs[0] : null;
  }

  function renderDoc(doc) {
    $("doc-loading").hidden = true;
    $("doc-card").hidden = false;
    $("doc-type").textContent = doc.type || "单据";
    var status = $("doc-status");
    status.textContent = STATUS[doc.status] || doc.status || "";
    status.hidden = !status.textContent;
    $("doc-title").textContent = doc.title || doc.id;
    document.title = (doc.title || "单据详情") + " · " + document.title.split(" · ").slice(-1)[0];
    $("doc-meta").textContent = ["申请人：" + (doc.applicant || "—"), doc.submitted_at ? "提交于 " + dateTime(doc.submitted_at) : ""]
      .filter(Boolean).join(" · ");
    var summary = $("doc-summary");
    summary.textContent = doc.summary || "";
    summary.hidden = !doc.summary;
    var fields = $("doc-fields");
    clear(fields);
    (doc.fields || []).forEach(function (f) {
      var row = make("div", "row");
      row.appendChild(make("dt", "", f.label));
      row.appendChild(make("dd", "", f.value));
      fields.appendChild(row);
    });
    renderRecipients(doc);
    var role = doc.my_role || doc.role;
    $("decide-card").hidden = !doc.can_decide;
    var mine = role === "approver" ? myRecord(doc) : null;
    var decision = decisionOf(mine);
    var text = "";
    if (decision) {
      text = "您已" + (DECISION[decision] || decision);
      if (mine.decided_at) { text += "（" + dateTime(mine.decided_at) + "）"; }
      if (mine.comment) { text += "，意见：" + mine.comment; }
    } else if (role === "cc") {
      text = "此单据抄送给您，仅需知悉，无需审批。";
    } else if (!doc.can_decide && doc.status && doc.status !== "open") {
      text = "此单据已结束（" + (STATUS[doc.status] || doc.status) + "），无需再审批。";
    }
    $("mine-text").textContent = text;
    $("mine-card").hidden = doc.can_decide || !text;
  }

  function docPage() {
    var docId = body.getAttribute("data-doc-id");
    var path = "documents/" + encodeURIComponent(docId);
    var msg = $("doc-msg");
    function load() {
      return api("GET", path).then(function (res) {
        if (sessionGone(res)) { return; }
        if (!res.ok || !res.data) {
          $("doc-loading").hidden = true;
          show(msg, errorText(res, "doc"));
          return;
        }
        renderDoc(res.data.document || res.data);
      });
    }
    load();
    var form = $("decide-form");
    var decideMsg = $("decide-msg");
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    function decide(decision) {
      busy(form, true);
      show(decideMsg, "");
      api("POST", path + "/decision", { decision: decision, comment: form.elements.comment.value.trim() })
        .then(function (res) {
          busy(form, false);
          if (sessionGone(res)) { return; }
          if (res.status === 409) { show(msg, errorText(res, "decide"), "warn"); return load(); }
          if (!res.ok) { show(decideMsg, errorText(res, "decide")); return; }
          return load();
        });
    }
    $("approve").addEventListener("click", function () { decide("approve"); });
    $("reject").addEventListener("click", function () { decide("reject"); });
  }

  var pages = { inbox: inboxPage, doc: docPage };
  var start = pages[body.getAttribute("data-page")];
  if (start) { start(); }
}());
