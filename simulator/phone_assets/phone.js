// The simulated phone: renders the chat from /_sim/phone/api/state and sends what the person
// does (type, tap the menu, follow, scan, open a link) to the simulator, which pushes it to the
// account's callback as WeChat would. Text goes into the page with textContent only.
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  var appId = params.get("app_id") || "";
  var openid = params.get("openid") || "";
  var shown = "";
  var URL_RE = /(https?:\/\/[^\s，。！？）]+)/g;

  function $(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function call(method, action, payload) {
    var url = "/_sim/phone/api/" + action;
    var init = { method: method, headers: { "Accept": "application/json" } };
    if (method === "GET") {
      url += "?app_id=" + encodeURIComponent(appId) + "&openid=" + encodeURIComponent(openid);
    } else {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(Object.assign({ app_id: appId, openid: openid }, payload || {}));
    }
    return fetch(url, init).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.error || ("HTTP " + response.status)); }
        return data;
      });
    });
  }

  function say(text) {
    var msg = $("panel-msg");
    msg.textContent = text || "";
    msg.hidden = !text;
  }

  // ---- the in-app browser ----------------------------------------------------------------
  function openLink(url) {
    call("POST", "open", { url: url }).then(function () {
      $("browser-frame").src = url;
      $("browser").hidden = false;
    }, function (err) { say(err.message); });
  }

  function closeBrowser() {
    $("browser").hidden = true;
    $("browser-frame").src = "about:blank";
    refresh();
  }

  // ---- rendering ---------------------------------------------------------------------------
  function linkified(text) {
    var span = el("span");
    String(text).split(URL_RE).forEach(function (part, i) {
      if (i % 2 === 1) {
        var a = el("a", "", part);
        a.href = part;
        a.addEventListener("click", function (event) { event.preventDefault(); openLink(part); });
        span.appendChild(a);
      } else if (part) {
        span.appendChild(document.createTextNode(part));
      }
    });
    return span;
  }

  function line(mine, content, initial) {
    var row = el("div", "line" + (mine ? " me" : ""));
    row.appendChild(el("div", "avatar", initial));
    row.appendChild(content);
    return row;
  }

  function detail(url) {
    var link = el("div", "detail");
    link.appendChild(el("span", "", "详情"));
    link.appendChild(el("span", "", "›"));
    link.addEventListener("click", function () { openLink(url); });
    return link;
  }

  function entryNode(entry, accountInitial, me) {
    if (entry.kind === "note") { return el("div", "note", entry.text); }
    if (entry.kind === "in") {
      var mine = el("div", "bubble");
      mine.appendChild(linkified(entry.text));
      return line(true, mine, me);
    }
    if (entry.kind === "out" || entry.kind === "error") {
      var bubble = el("div", "bubble" + (entry.kind === "error" ? " error" : ""));
      bubble.appendChild(linkified(entry.text));
      return line(false, bubble, accountInitial);
    }
    var card = el("div", entry.kind === "card" ? "card" : "news");
    card.appendChild(el("h3", "", entry.title));
    if (entry.kind === "card") {
      var list = el("dl");
      (entry.fields || []).forEach(function (field) {
        list.appendChild(el("dt", "", field.label));
        list.appendChild(el("dd", "", field.value));
      });
      card.appendChild(list);
    } else if (entry.text) {
      card.appendChild(el("p", "", entry.text));
    }
    if (entry.url) { card.appendChild(detail(entry.url)); }
    return line(false, card, accountInitial);
  }

  function stamp(at) {
    var d = new Date(at * 1000);
    return (d.getHours() < 10 ? "0" : "") + d.getHours() + ":" + (d.getMinutes() < 10 ? "0" : "") + d.getMinutes();
  }

  function renderChat(data) {
    var chat = $("chat");
    var key = JSON.stringify([data.openid, data.chat.length, data.subscribed]);
    if (key === shown) { return; }
    shown = key;
    while (chat.firstChild) { chat.removeChild(chat.firstChild); }
    var accountInitial = (data.app.name || "公").slice(0, 1);
    var me = (openid.replace(/^o_(demo_)?/, "") || "我").slice(0, 1).toUpperCase();
    var last = 0;
    data.chat.forEach(function (entry) {
      if (entry.at - last > 300) { chat.appendChild(el("div", "time", stamp(entry.at))); }
      last = entry.at;
      var node = entryNode(entry, accountInitial, me);
      node.setAttribute("data-kind", entry.kind);
      chat.appendChild(node);
    });
    chat.scrollTop = chat.scrollHeight;
  }

  function showSubmenu(button, anchor) {
    var menu = $("submenu");
    while (menu.firstChild) { menu.removeChild(menu.firstChild); }
    if (!menu.hidden && menu.getAttribute("data-for") === button.name) { menu.hidden = true; return; }
    button.sub_button.forEach(function (sub) {
      var item = el("button", "", sub.name);
      item.type = "button";
      item.addEventListener("click", function () { menu.hidden = true; tap(sub); });
      menu.appendChild(item);
    });
    menu.setAttribute("data-for", button.name);
    menu.style.left = (anchor.offsetLeft + 46) + "px";
    menu.hidden = false;
  }

  function renderMenu(data) {
    var nav = $("menu");
    var key = JSON.stringify(data.menu);
    if (nav.getAttribute("data-menu") === key) { return; }
    nav.setAttribute("data-menu", key);
    while (nav.firstChild) { nav.removeChild(nav.firstChild); }
    var buttons = (data.menu && data.menu.button) || [];
    if (!buttons.length) { nav.appendChild(el("span", "empty", "（公众号还没有菜单）")); }
    buttons.forEach(function (button) {
      var node = el("button", "menu-btn", (button.sub_button && button.sub_button.length ? "≡ " : "") + button.name);
      node.type = "button";
      node.addEventListener("click", function () {
        if (button.sub_button && button.sub_button.length) { showSubmenu(button, node); } else { tap(button); }
      });
      nav.appendChild(node);
    });
  }

  function renderUsers(data) {
    var select = $("user-select");
    var key = JSON.stringify(data.users) + data.openid;
    if (select.getAttribute("data-users") === key) { return; }
    select.setAttribute("data-users", key);
    while (select.firstChild) { select.removeChild(select.firstChild); }
    data.users.forEach(function (user) {
      var option = el("option", "", (user.nickname ? user.nickname + " · " : "") + user.openid +
        (user.subscribed ? "" : "（未关注）"));
      option.value = user.openid;
      option.selected = user.openid === data.openid;
      select.appendChild(option);
    });
  }

  // The side panel's steps; their links (the business system's page) open in a new tab.
  function renderHint(text) {
    var hint = $("hint");
    if (hint.getAttribute("data-text") === text) { return; }
    hint.setAttribute("data-text", text);
    while (hint.firstChild) { hint.removeChild(hint.firstChild); }
    text.split(URL_RE).forEach(function (part, i) {
      if (i % 2 === 1) {
        var a = el("a", "", part);
        a.href = part;
        a.target = "_blank";
        a.rel = "noopener";
        hint.appendChild(a);
      } else if (part) {
        hint.appendChild(document.createTextNode(part));
      }
    });
  }

  function render(data) {
    openid = data.openid;
    appId = data.app.app_id;
    $("account-name").textContent = data.app.name;
    $("follow-bar").hidden = data.subscribed;
    renderHint(data.app.hint || "");
    $("hint-box").hidden = !data.app.hint;
    renderUsers(data);
    renderMenu(data);
    renderChat(data);
    if (data.url) { openLink(data.url); }
  }

  function act(action, payload) {
    say("");
    return call("POST", action, payload).then(render, function (err) { say(err.message); });
  }

  function tap(button) { return act("tap", { button: button }); }

  function refresh() { return call("GET", "state").then(render, function (err) { say(err.message); }); }

  // ---- controls ----------------------------------------------------------------------------
  $("follow").addEventListener("click", function () { act("follow", { follow: true }); });
  $("to-keyboard").addEventListener("click", function () {
    $("menu-row").hidden = true; $("input-row").hidden = false; $("submenu").hidden = true; $("text-input").focus();
  });
  $("to-menu").addEventListener("click", function () { $("menu-row").hidden = false; $("input-row").hidden = true; });
  $("input-row").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("text-input");
    if (!input.value.trim()) { return; }
    act("send", { text: input.value }).then(function () { input.value = ""; });
  });
  $("scan-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("scan-input");
    if (!input.value.trim()) { return; }
    act("scan", { ticket: input.value.trim() }).then(function () { input.value = ""; });
  });
  $("user-select").addEventListener("change", function (event) {
    openid = event.target.value;
    shown = "";
    closeBrowser();
  });
  $("user-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = $("new-openid").value.trim();
    if (!value) { return; }
    openid = value;
    shown = "";
    act("user", {}).then(function () { $("new-openid").value = ""; });
  });
  $("browser-close").addEventListener("click", closeBrowser);

  refresh();
  window.setInterval(function () { if (!document.hidden) { refresh(); } }, 1500);
}());
