// The scan-to-bind confirmation page: confirm or cancel, then say what happened and what comes next.
(function () {
  "use strict";

  var gw = window.gw;
  var $ = gw.$, api = gw.api, show = gw.show;
  var token = gw.body.getAttribute("data-token");

  function done(title, text, inbox) {
    $("bind-card").hidden = true;
    $("bind-done-title").textContent = title;
    $("bind-done-text").textContent = text;
    $("bind-inbox").hidden = !inbox;
    $("bind-done").hidden = false;
  }

  function act(action) {
    var card = $("bind-card");
    gw.busy(card, true);
    api("POST", "bind/" + token + "/" + action, {}).then(function (res) {
      gw.busy(card, false);
      if (res.ok && action === "confirm") {
        done("绑定成功", "此微信已绑定到 " + res.data.name + "（" + res.data.login + "）。待办会通过公众号通知您。", true);
      } else if (res.ok) {
        done("已取消", "没有绑定任何账号。您可以关闭此页面。", false);
      } else {
        var err = gw.errorOf(res);
        show($("bind-msg"), err.code === "forbidden" ? gw.chinesePart(err.message) : gw.errorText(res));
      }
    });
  }

  $("bind-confirm").addEventListener("click", function () { act("confirm"); });
  $("bind-cancel").addEventListener("click", function () { act("cancel"); });
}());
