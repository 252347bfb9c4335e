// Kiosk idle reset: after a while without a touch, warn with a visible countdown,
// then clear the screen for the next visitor (or sign staff out). Configured by
// #idle-config (data-idle, data-countdown in seconds; data-keepalive: a staff URL
// pinged now and then while someone touches the screen); pages without it never reset.
// Staff console: an emergency row (.alarm-badge) beeps until someone acknowledges it.
(function () {
  "use strict";
  var idleTimer = null, tickTimer = null, remaining = 0, lastPing = Date.now(), audio = null;
  var PING_EVERY_MS = 30000;

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

  function keepAlive() {
    var cfg = el("idle-config");
    if (!cfg || !cfg.dataset.keepalive || Date.now() - lastPing < PING_EVERY_MS) return;
    lastPing = Date.now();
    fetch(cfg.dataset.keepalive, { credentials: "same-origin" }).catch(function () {});
  }

  function activity() {
    if (idleTimer || tickTimer) { arm(); keepAlive(); }
  }

  function beep() {
    if (!audio || !document.querySelector(".alarm-badge")) return;
    var osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.2;
    osc.connect(gain); gain.connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + 0.4);
  }

  ["pointerdown", "keydown", "input", "wheel", "touchstart"].forEach(function (type) {
    document.addEventListener(type, activity, { capture: true, passive: true });
  });
  document.addEventListener("pointerdown", function () {
    // browsers allow sound only after a touch
    if (!audio && window.AudioContext) { audio = new AudioContext(); beep(); }
  }, { once: true });
  document.addEventListener("click", function (e) {
    if (e.target && e.target.id === "idle-stay") { arm(); lastPing = 0; keepAlive(); }
  });
  // a new page (boosted navigation) re-arms the timer; background polls do not
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail && e.detail.boosted) arm();
    beep();
  });
  // a boosted page swaps only the body: carry its <html lang> over too (a language switch
  // sent with a form, e.g. on the details step, is such a page)
  document.addEventListener("htmx:beforeSwap", function (e) {
    var html = e.detail && e.detail.shouldSwap && typeof e.detail.serverResponse === "string"
      ? /<html[^>]*\slang="([A-Za-z-]+)"/.exec(e.detail.serverResponse) : null;
    if (html) document.documentElement.lang = html[1];
  });
  document.addEventListener("DOMContentLoaded", arm);
})();
