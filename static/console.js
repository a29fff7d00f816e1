// The console's few behaviours: copy buttons, Token/EncodingAESKey generation, and the menu
// editor's live byte counts, URL fields and phone preview. Every form works without it.
(function () {
  "use strict";
  function bytes(text) { return new TextEncoder().encode(text).length; }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.classList.add("done");
      }, function () {});
    });
  });

  var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  document.querySelectorAll("[data-generate]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-target"));
      var length = button.getAttribute("data-generate") === "aes" ? 43 : 32;
      var value = "", byte = new Uint8Array(1);
      while (value.length < length) {  // rejection sampling: every character equally likely
        crypto.getRandomValues(byte);
        if (byte[0] < 248) value += alphabet[byte[0] % 62];
      }
      if (target) { target.value = value; target.type = "text"; }
    });
  });

  function showUrlField(select) {
    var input = document.querySelector("input[name='" + select.getAttribute("data-url-for") + "']");
    if (input) input.closest("label").classList.toggle("off", select.value !== "url");
  }
  document.querySelectorAll("select[data-url-for]").forEach(function (select) {
    showUrlField(select);
    select.addEventListener("change", function () { showUrlField(select); });
  });

  function countBytes(input) {
    var label = input.parentNode.querySelector(".bytes");
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var used = bytes(input.value);
    if (label) {
      label.textContent = input.value ? used + " / " + max + " 字节" : "";
      label.classList.toggle("over", used > max);
    }
  }
  function preview() {
    document.querySelectorAll("#phone-menu .pm-item").forEach(function (item) {
      var i = item.getAttribute("data-top");
      var top = document.querySelector("input[name='b" + i + "_name']");
      var subs = document.querySelectorAll("input[data-preview-sub='" + i + "']");
      var names = Array.prototype.filter.call(subs, function (s) { return s.value.trim(); });
      item.querySelector(".pm-name").textContent = top ? top.value : "";
      var box = item.querySelector(".pm-subs");
      box.textContent = "";
      names.forEach(function (s) {
        var span = document.createElement("span");
        span.textContent = s.value;
        box.appendChild(span);
      });
      item.hidden = !(top && top.value.trim());
    });
  }
  document.querySelectorAll("input[data-max-bytes]").forEach(function (input) {
    countBytes(input);
    input.addEventListener("input", function () { countBytes(input); preview(); });
  });
})();
