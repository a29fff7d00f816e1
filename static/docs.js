// The document page: the document, its people by name, the timeline of decisions and comments,
// an approver's decision and anyone's comment, on the helpers of app.js.
(function () {
  "use strict";

  var gw = window.gw;
  var body = gw.body, $ = gw.$, api = gw.api, show = gw.show, make = gw.make, clear = gw.clear;
  var errorText = gw.errorText, sessionGone = gw.sessionGone, busy = gw.busy, dateTime = gw.dateTime;
  var STATE = gw.labels.state, DECISION = gw.labels.decision;
  var STATE_TAG = { approved: "approve", rejected: "reject", withdrawn: "cc", decided: "approve", waiting: "wait",
    open: "cc" };

  function me(rec) { return rec.login === body.getAttribute("data-login"); }

  function personLabel(rec) { return me(rec) ? "我（" + rec.display + "）" : rec.display || rec.name || rec.login; }

  function renderPeople(doc) {
    var list = $("recipients");
    clear(list);
    (doc.recipients || []).forEach(function (rec) {
      var li = make("li");
      li.appendChild(make("span", "who", personLabel(rec)));
      if (rec.role === "cc") {
        li.appendChild(make("span", "tag cc", "抄送"));
      } else if (rec.decision) {
        li.appendChild(make("span", "tag " + rec.decision, DECISION[rec.decision] || rec.decision));
      } else {
        li.appendChild(make("span", "tag wait", doc.status === "open" ? "待审批" : "未审批"));
      }
      list.appendChild(li);
    });
    $("recipients-card").hidden = !list.firstChild;
  }

  function renderTimeline(doc) {
    var list = $("timeline");
    clear(list);
    (doc.timeline || []).forEach(function (entry) {
      var li = make("li");
      var head = make("div");
      head.appendChild(make("span", "who", personLabel(entry)));
      head.appendChild(document.createTextNode(" "));
      if (entry.kind === "decision") {
        head.appendChild(make("span", "tag " + entry.decision, DECISION[entry.decision] || entry.decision));
      } else {
        head.appendChild(make("span", "tag note", "评论"));
      }
      head.appendChild(make("span", "when", dateTime(entry.at)));
      li.appendChild(head);
      if (entry.comment) { li.appendChild(make("p", "comment", entry.comment)); }
      list.appendChild(li);
    });
    $("timeline-card").hidden = !list.firstChild;
  }

  function myDecision(doc) {
    var recs = (doc.recipients || []).filter(function (r) { return me(r) && r.role === "approver"; });
    return recs.length ? recs[0] : null;
  }

  function renderDoc(doc) {
    $("doc-loading").hidden = true;
    $("doc-card").hidden = false;
    $("doc-type").textContent = doc.type || "单据";
    var status = $("doc-status");
    status.textContent = STATE[doc.my_state] || "";
    status.className = "tag " + (STATE_TAG[doc.my_state] || "");
    status.hidden = !status.textContent;
    $("doc-title").textContent = doc.title || doc.id;
    document.title = (doc.title || "单据详情") + " · " + document.title.split(" · ").slice(-1)[0];
    $("doc-meta").textContent = ["申请人：" + (doc.applicant_name || doc.applicant || "—"),
      doc.submitted_at ? "提交于 " + dateTime(doc.submitted_at) : ""].filter(Boolean).join(" · ");
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
    var closed = doc.status !== "open";
    show($("closed-note"), closed ? "此单据已结束（" + (STATE[doc.status] || doc.status) + "，" +
      dateTime(doc.closed_at) + "），仅供查看，不能再审批或评论。" : "", "warn");
    renderPeople(doc);
    renderTimeline(doc);
    var hints = doc.hints || {};
    $("decide-form").elements.comment.placeholder = hints.decision || "";
    $("comment-form").elements.comment.placeholder = hints.comment || "";
    $("decide-card").hidden = !doc.can_decide;
    $("comment-card").hidden = !doc.can_comment;
    var mine = doc.my_role === "approver" ? myDecision(doc) : null;
    var text = "";
    if (mine && mine.decision) {
      text = "您已" + (DECISION[mine.decision] || mine.decision) + "（" + dateTime(mine.decided_at) + "）";
      if (mine.comment) { text += "，意见：" + mine.comment; }
      if (!closed) { text += "。等待其他审批人处理。"; }
    } else if (doc.my_role === "cc" && !closed) {
      text = "此单据抄送给您，仅需知悉，无需审批；有问题可以在下方评论。";
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
          $("doc-card").hidden = true;
          show(msg, errorText(res, "doc"));
          return;
        }
        renderDoc(res.data);
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

    var commentForm = $("comment-form");
    var commentMsg = $("comment-msg");
    commentForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = commentForm.elements.comment.value.trim();
      if (!text) { show(commentMsg, "请先写下评论内容。"); return; }
      busy(commentForm, true);
      show(commentMsg, "");
      api("POST", path + "/comments", { comment: text }).then(function (res) {
        busy(commentForm, false);
        if (sessionGone(res)) { return; }
        if (res.status === 409) { show(commentMsg, "该单据已结束，不能再评论。"); return load(); }
        if (!res.ok) { show(commentMsg, errorText(res, "comment")); return; }
        commentForm.elements.comment.value = "";
        show(commentMsg, "评论已发表。", "ok");
        return load();
      });
    });
  }

  if (body.getAttribute("data-page") === "doc") { docPage(); }
}());
