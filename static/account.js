// The login (bind), password and register pages, on the helpers of app.js.
(function () {
  "use strict";

  var gw = window.gw;
  var body = gw.body, base = gw.base, $ = gw.$, api = gw.api, show = gw.show, make = gw.make, clear = gw.clear;
  var errorOf = gw.errorOf, errorText = gw.errorText, toEntry = gw.toEntry, sessionGone = gw.sessionGone;
  var busy = gw.busy;

  function loadPolicy() {
    var list = $("policy-rules");
    if (!list) { return; }
    api("GET", "policy").then(function (res) {
      if (!res.ok || !res.data || !res.data.rules || !res.data.rules.length) { return; }
      clear(list);
      res.data.rules.forEach(function (line) { list.appendChild(make("li", "", line)); });
      list.hidden = false;
    });
  }

  // The change form, used alone (password page) and after a login that must change it first.
  function passwordForm(oldPassword, onDone) {
    var form = $("password-form");
    var msg = $("password-msg");
    if (oldPassword !== null) { $("old-password-field").hidden = true; }
    loadPolicy();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var old = oldPassword !== null ? oldPassword : form.elements.old_password.value;
      var fresh = form.elements.new_password.value;
      if (!old || !fresh) { show(msg, "请填写完整的密码。"); return; }
      if (fresh !== form.elements.confirm_password.value) { show(msg, "两次输入的新密码不一致。"); return; }
      if (fresh === old) { show(msg, "新密码不能与当前密码相同。"); return; }
      busy(form, true);
      api("POST", "password", { old_password: old, new_password: fresh }).then(function (res) {
        busy(form, false);
        if (res.ok) { onDone(res.data || {}); return; }
        if (oldPassword === null && sessionGone(res)) { return; }
        var err = errorOf(res);
        // The server answers a wrong current password with 403 forbidden (and the attempts left),
        // and locks the account like sign-in does (423 locked).
        if (err.code === "forbidden" || err.code === "bad_credentials") {
          var left = (err.details || {}).remaining_attempts;
          show(msg, typeof left === "number" ? "当前密码不正确，还可尝试 " + left + " 次。" : "当前密码不正确。");
          return;
        }
        show(msg, errorText(res, "password"));
      });
    });
  }

  // After a change: a forced one (first sign-in, after a reset) signs the person in with the new
  // password (signed_in), so the page goes on to `next`; any other asks for a new sign-in.
  function passwordDone(next) {
    return function (data) {
      if (data.signed_in) { window.location.assign(base + (next || "inbox")); return; }
      $("change-card").hidden = true;
      if ($("login-card")) { $("login-card").hidden = true; }
      $("done-card").hidden = false;
    };
  }

  function loginPage() {
    var form = $("login-form");
    var msg = $("login-msg");
    var next = body.getAttribute("data-next") || "inbox";
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var login = form.elements.login.value.trim();
      var password = form.elements.password.value;
      if (!login || !password) { show(msg, "请输入账号和密码。"); return; }
      busy(form, true);
      show(msg, "");
      api("POST", "login", { login: login, password: password }).then(function (res) {
        busy(form, false);
        if (res.ok && res.data && res.data.must_change_password) {
          // Same screen, second step: the login stays shown (read-only), the new password below.
          form.elements.login.readOnly = true;
          form.elements.password.closest("label").hidden = true;
          $("login-submit").hidden = true;
          $("login-accepted").hidden = false;
          $("change-card").hidden = false;
          passwordForm(password, passwordDone(next));
          document.querySelector("#password-form input[name=new_password]").focus();
          return;
        }
        if (res.ok) { window.location.assign(base + next); return; }
        // No openid from the OAuth step (or it expired): go through WeChat's authorization again.
        if (errorOf(res).code === "unauthorized") { toEntry(next); return; }
        var kind = errorOf(res).code === "bad_credentials" ? "error" : "warn";
        show(msg, errorText(res, "login"), kind);
        form.elements.password.value = "";
      });
    });
  }

  function passwordPage() {
    passwordForm(null, passwordDone("inbox"));
  }

  function registerPage() {
    var form = $("register-form");
    var msg = $("register-msg");
    loadPolicy();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var payload = {
        login: form.elements.login.value.trim(),
        name: form.elements.name.value.trim(),
        kind: form.elements.kind.value,
        password: form.elements.password.value
      };
      if (!payload.login || !payload.name || !payload.password) { show(msg, "请填写账号、姓名和密码。"); return; }
      if (payload.password !== form.elements.confirm_password.value) { show(msg, "两次输入的密码不一致。"); return; }
      busy(form, true);
      api("POST", "register", payload).then(function (res) {
        busy(form, false);
        if (res.ok) {
          $("register-card").hidden = true;
          $("done-card").hidden = false;
          return;
        }
        if (sessionGone(res)) { return; }
        show(msg, errorText(res, "register"));
      });
    });
  }

  var pages = { login: loginPage, password: passwordPage, register: registerPage };
  var start = pages[body.getAttribute("data-page")];
  if (start) { start(); }
}());
