/* Countdowns to bid deadlines, confirmations for dangerous buttons, self-submitting selects. No dependencies. */
(function () {
  "use strict";
  var body = document.body;
  var fmtLeft = body.getAttribute("data-countdown-left") || "{d} d {hms} left";
  var fmtToday = body.getAttribute("data-countdown-today") || "{hms} left";
  var closed = body.getAttribute("data-countdown-closed") || "Deadline passed";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function render(el, now) {
    var deadline = Date.parse(el.getAttribute("data-deadline"));
    if (isNaN(deadline)) { return; }
    var left = Math.floor((deadline - now) / 1000);
    if (left <= 0) {
      el.textContent = closed;
      el.classList.add("ended");
      return;
    }
    var days = Math.floor(left / 86400);
    var hms = pad(Math.floor(left % 86400 / 3600)) + ":" + pad(Math.floor(left % 3600 / 60)) + ":" + pad(left % 60);
    el.textContent = (days > 0 ? fmtLeft.replace("{d}", days) : fmtToday).replace("{hms}", hms);
    el.classList.toggle("soon", left < 3 * 86400);
  }

  function tick() {
    var now = Date.now();
    var all = document.querySelectorAll(".countdown[data-deadline]");
    for (var i = 0; i < all.length; i++) { render(all[i], now); }
  }

  tick();
  if (document.querySelector(".countdown[data-deadline]")) { setInterval(tick, 1000); }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  });

  // <select data-autosubmit> submits its form on change (the Content-Security-Policy forbids onchange="...").
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) { select.form.submit(); }
  });

  // <section data-refresh="20"> reloads the page every 20 s (a supervisor following a draw's log), unless the
  // user is typing in a field.
  var refreshing = document.querySelector("[data-refresh]");
  if (refreshing) {
    window.setInterval(function () {
      if (!document.activeElement || !document.activeElement.matches("input, textarea, select")) {
        window.location.reload();
      }
    }, 1000 * parseInt(refreshing.getAttribute("data-refresh"), 10));
  }
})();
