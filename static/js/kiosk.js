// Kiosk idle reset: after a while without a touch, warn with a visible countdown,
// then clear the screen for the next visitor. Configured by #idle-config
// (data-idle, data-countdown, in seconds); pages without it never reset.
(function () {
  "use strict";
  var idleTimer = null, tickTimer = null, remaining = 0;

  function el(id) { return document.getElementById(id); }

  function stop() {
    clearTimeout(idleTimer); clearInterval(tickTimer);
    idleTimer = tickTimer = null;
  }

  function hideWarning() {
    var box = el("idle-warning");
    if (box) box.hidden = true;
  }

  function arm() {
    stop(); hideWarning();
    var cfg = el("idle-config");
    if (!cfg) return;
    idleTimer = setTimeout(warn, Number(cfg.dataset.idle) * 1000);
  }

  function warn() {
    var cfg = el("idle-config"), box = el("idle-warning");
    if (!cfg || !box) return;
    remaining = Number(cfg.dataset.countdown);
    el("idle-count").textContent = remaining;
    box.hidden = false;
    el("idle-stay").focus();
    tickTimer = setInterval(function () {
      remaining -= 1;
      el("idle-count").textContent = Math.max(remaining, 0);
      if (remaining <= 0) { stop(); el("reset-form").submit(); }
    }, 1000);
  }

  ["pointerdown", "keydown", "input", "wheel", "touchstart"].forEach(function (type) {
    document.addEventListener(type, function () { if (idleTimer || tickTimer) arm(); },
                              { capture: true, passive: true });
  });
  document.addEventListener("click", function (e) {
    if (e.target && e.target.id === "idle-stay") arm();
  });
  document.addEventListener("htmx:afterSettle", arm);
  document.addEventListener("DOMContentLoaded", arm);
})();
