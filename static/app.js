// The phone pages' shared helpers: a fetch wrapper that echoes the _xsrf cookie as X-XSRFToken,
// the contract's errors in plain Chinese, and DOM helpers (text goes in with textContent only).
(function () {
  "use strict";

  var body = document.body;
  var slug = body.getAttribute("data-slug");
  var base = "/wx/" + slug + "/";

  function $(id) { return document.getElementById(id); }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) { return decodeURIComponent(parts[i].slice(eq + 1)); }
    }
    return "";
  }

  // One JSON call to /wx/{slug}/api/...; resolves to {status, ok, data}, never rejects.
  function api(method, path, payload) {
    var init = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-XSRFToken": cookie("_xsrf") }
    };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch(base + "api/" + path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: response.status, ok: response.ok, data: data };
      });
    }, function () {
      return { status: 0, ok: false, data: { error: { code: "network", message: "", details: {} } } };
    });
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function parseTime(iso) {
    if (!iso) { return null; }
    var d = new Date(iso);
    return isNaN(d.getTime()) ? null : d;
  }

  // The wall-clock parts of a moment in the tenant's zone (the page says which; the phone's own zone is
  // not asked), as [year-month-day, month, day, "HH:MM"].
  function inTenantZone(d) {
    var zone = body.getAttribute("data-time-zone") || "Asia/Shanghai";
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-GB", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(d).forEach(function (p) {
        parts[p.type] = p.value;
      });
      return [parts.year + "-" + parts.month + "-" + parts.day, parseInt(parts.month, 10), parseInt(parts.day, 10),
        parts.hour + ":" + parts.minute];
    } catch (e) {
      return [d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()), d.getMonth() + 1, d.getDate(),
        pad(d.getHours()) + ":" + pad(d.getMinutes())];
    }
  }

  // A time of the JSON API (e.g. a lock's end) as "21:35" on the tenant's today (the server's date in
  // the tenant's zone, written into the page), else "12月8日 21:35".
  function hhmm(iso) {
    var d = parseTime(iso);
    if (!d) { return ""; }
    var local = inTenantZone(d);
    if (local[0] === body.getAttribute("data-today")) { return local[3]; }
    return local[1] + "月" + local[2] + "日 " + local[3];
  }

  // Times of the phone's API come in the tenant's time zone (the server chose it): shown as written,
  // never moved to the phone's own zone or compared with its clock.
  function dateTime(iso) {
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(String(iso || ""));
    return m ? m[1] + " " + m[2] : String(iso || "");
  }

  // What a document's state and a person's decision are called on every page.
  var LABELS = {
    state: { approved: "已通过", rejected: "已驳回", withdrawn: "已撤回", decided: "已处理", waiting: "待我审批",
      open: "审批中", cc: "抄送" },
    decision: { approve: "同意", reject: "驳回" }
  };

  function errorOf(res) {
    return (res.data && res.data.error) || { code: res.status >= 500 ? "unavailable" : "invalid", message: "", details: {} };
  }

  // Messages may come as "中文 / English": a phone page shows the Chinese half.
  function chinesePart(message) {
    var text = String(message || "");
    var head = text.split(" / ")[0];
    return /[\u4e00-\u9fff]/.test(head) ? head : text;
  }

  // The contract's error codes in words a phone user understands.
  function errorText(res, context) {
    var err = errorOf(res);
    var details = err.details || {};
    switch (err.code) {
      case "network": return "网络连接失败，请检查网络后重试。";
      case "bad_credentials":
        if (typeof details.remaining_attempts === "number") {
          if (details.remaining_attempts <= 0) {
            return details.locked_until_text ? "账号或密码错误，账号已被锁定，请于 " + details.locked_until_text + " 后再试。"
              : "账号或密码错误，账号已被锁定，请稍后再试。";
          }
          return "账号或密码错误，还可尝试 " + details.remaining_attempts + " 次。";
        }
        return "账号或密码错误。";
      case "locked":
        // The server words the time (its clock, the tenant's time zone), not the phone.
        if (details.locked_until_text) { return "账号已锁定，请于 " + details.locked_until_text + " 后再试。"; }
        return details.locked_until ? "账号已锁定，请于 " + hhmm(details.locked_until) + " 后再试。"
          : "账号已锁定，请联系管理员解锁。";
      case "account_disabled": return "该账号已停用，无法登录。如有疑问请联系管理员。";
      case "account_pending": return "该账号正在等待管理员审核，审核通过后即可登录。";
      case "rate_limited": return "尝试过于频繁，请稍后再试。";
      case "weak_password":
        if (details.problems && details.problems.length) {
          // Every broken rule at once, one per line.
          return "密码不符合要求：\n" + details.problems.map(function (p) { return "· " + chinesePart(p); }).join("\n");
        }
        return "密码不符合要求：" + (chinesePart(err.message) || "请按密码规则设置");
      case "unauthorized": return "登录已失效，请从公众号菜单重新进入。";
      case "forbidden":
        if (context === "register") { return "本单位暂未开放自助注册，或请先从公众号菜单进入后再注册。"; }
        return "没有权限进行此操作。";
      case "not_found": return context === "doc" ? "单据不存在，或您不是此单据的审批人或抄送人。" : "内容不存在。";
      case "conflict":
        if (context === "decide") { return "该单据已处理或已关闭，不能再次审批。"; }
        if (context === "register") { return "该账号已存在，请直接登录或换一个账号。"; }
        return "操作冲突，请刷新后重试。";
      case "invalid": return "提交的内容有误" + (err.message ? "：" + chinesePart(err.message) : "。");
      case "unavailable": return "服务暂时不可用，请稍后再试。";
      case "busy": return "登录的人较多，系统正忙，请等几秒后再点一次。";
      default: return res.status >= 500 ? "服务暂时不可用，请稍后再试。" : "操作失败，请稍后再试。";
    }
  }

  function show(el, text, kind) {
    el.textContent = text;
    el.className = "msg " + (kind || "error");
    el.hidden = !text;
  }

  function make(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined && text !== null) { el.textContent = String(text); }
    return el;
  }

  function clear(el) { while (el.firstChild) { el.removeChild(el.firstChild); } }

  function toEntry(next) {
    window.location.assign(base + "entry?next=" + encodeURIComponent(next || body.getAttribute("data-here") || "inbox"));
  }

  // A session that ended while the page was open: start sign-in again, coming back here.
  function sessionGone(res) {
    if (res.status === 401) { toEntry(); return true; }
    if (errorOf(res).code === "password_change_required") { window.location.assign(base + "password"); return true; }
    return false;
  }

  function busy(form, on) {
    var buttons = form.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = on; }
  }

  window.gw = {
    body: body, base: base, $: $, api: api, hhmm: hhmm, dateTime: dateTime, errorOf: errorOf,
    errorText: errorText, show: show, make: make, clear: clear, toEntry: toEntry, sessionGone: sessionGone,
    busy: busy, chinesePart: chinesePart, labels: LABELS
  };
}());
