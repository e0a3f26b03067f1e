// Six Hours: refresh the time left on each running clock once a minute. The page is complete
// without this script; it only keeps the countdowns true while the page stays open.
(function () {
  "use strict";
  var body = document.body;
  var zh = body.getAttribute("data-lang") === "zh";
  function span(seconds) {
    var total = Math.floor(Math.abs(seconds) / 60);
    var d = Math.floor(total / 1440), h = Math.floor((total % 1440) / 60), m = total % 60;
    var units = zh ? ["天", "小时", "分钟"] : ["d", "h", "min"];
    var parts = [];
    [d, h, m].forEach(function (n, i) { if (n) { parts.push(n + " " + units[i]); } });
    return parts.slice(0, 2).join(" ") || "0 " + units[2];
  }
  function refresh() {
    var now = Date.now();
    document.querySelectorAll(".clock[data-due]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("data-due")) - now) / 1000;
      var warn = el.getAttribute("data-warn");
      var text = el.querySelector(".clock-left");
      if (text) {
        text.textContent = (left >= 0 ? body.getAttribute("data-left") : body.getAttribute("data-late")) + " " + span(left);
      }
      var state = el.querySelector(".clock-state");
      if (left < 0) {
        el.classList.remove("ok", "warning");
        el.classList.add("overdue");
        if (state) { state.textContent = body.getAttribute("data-overdue"); }
      } else if (warn && Date.parse(warn) <= now && !el.classList.contains("warning")) {
        el.classList.remove("ok");
        el.classList.add("warning");
        if (state) { state.textContent = body.getAttribute("data-warning"); }
      }
    });
  }
  refresh();
  window.setInterval(refresh, 60 * 1000);
}());
