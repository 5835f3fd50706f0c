// trialdesk pages: the idle-timeout warning. Everything else works without JavaScript or through htmx.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var box = document.getElementById("idle-warning");
  if (!idle || !box) { return; }
  var warnAfter = Math.max(idle - 120, 5) * 1000;
  var warnTimer = null, endTimer = null;
  function csrf() {
    try { return JSON.parse(body.getAttribute("hx-headers"))["X-CSRF-Token"]; } catch (e) { return ""; }
  }
  function schedule() {
    clearTimeout(warnTimer); clearTimeout(endTimer);
    box.hidden = true;
    warnTimer = setTimeout(function () {
      box.hidden = false;
      var stay = document.getElementById("idle-stay");
      if (stay) { stay.focus(); }
    }, warnAfter);
    endTimer = setTimeout(function () {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
    }, idle * 1000);
  }
  document.getElementById("idle-stay").addEventListener("click", function () {
    fetch("/session/keepalive", { method: "POST", headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" })
      .then(function (r) { if (r.ok) { schedule(); } else { window.location.assign("/login"); } });
  });
  // Any htmx request reaches the server and slides the session too.
  document.addEventListener("htmx:afterRequest", schedule);
  schedule();
}());
