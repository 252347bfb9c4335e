// Kiosk idle reset: after a while without a touch, warn with a visible countdown,
// then clear the screen for the next visitor (or sign staff out). Configured by
// #idle-config (data-idle, data-countdown in seconds; data-keepalive: a staff URL
// pinged now and then while someone touches the screen); pages without it never reset.
// Staff console: while the queue shows an emergency or an important matter nobody has
// acknowledged (#queue-rows[data-alarm="1"], refreshed by the queue's 5-second poll), a
// short beep pattern plays every few seconds with the Web Audio API (no sound file);
// browsers allow sound only after a touch on the page, so until then it waits.
// Notices: on the start screen, the kiosk's idle screen, #notice-board shows the current
// notices one at a time (see the block "Notices" below).
// Printed forms, reports and the diary: a [data-print] button opens the print dialog
// (here, not in a page's own script: a boosted page swaps only the body, and htmx runs
// no script tags).
(function () {
  "use strict";
  var idleTimer = null, tickTimer = null, remaining = 0, lastPing = Date.now();
  var PING_EVERY_MS = 30000;
  var audio = null, alarmTimer = null, ALARM_EVERY_MS = 4000;
  var BEEPS = [[0, 880], [0.3, 660], [0.6, 880]];  // [start in s, pitch in Hz]

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

  function alarmOn() {
    return !!document.querySelector('#queue-rows[data-alarm="1"]');
  }

  function beeps() {
    if (!audio || audio.state !== "running" || !alarmOn()) return;
    var now = audio.currentTime;
    BEEPS.forEach(function (beep) {
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = beep[1]; gain.gain.value = 0.25;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(now + beep[0]); osc.stop(now + beep[0] + 0.2);
    });
  }

  function startAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    if (audio && audio.state === "suspended") audio.resume().then(beeps, function () {});
  }

  // start or stop the repeating pattern as the page now says
  function updateAlarm() {
    if (alarmOn()) {
      startAudio();
      if (!alarmTimer) { beeps(); alarmTimer = setInterval(beeps, ALARM_EVERY_MS); }
    } else if (alarmTimer) {
      clearInterval(alarmTimer); alarmTimer = null;
    }
  }

  // -- Notices (R18, templates/notices/_board.html) ------------------------------------
  // The slides of #notice-board take turns, the next every data-rotate seconds; its
  // aria-live region reads each new one out politely. A touch holds the one shown for
  // another full period, so nobody loses what they are reading.
  var noticeTimer = null;

  function nextNotice() {
    var slides = document.querySelectorAll("#notice-board .notice-slide"), shown = 0;
    if (slides.length < 2) return;
    for (var i = 0; i < slides.length; i++) { if (!slides[i].hidden) shown = i; }
    slides[shown].hidden = true;
    shown = (shown + 1) % slides.length;
    slides[shown].hidden = false;
    if (el("notice-position")) el("notice-position").textContent = (shown + 1) + " / " + slides.length;
  }

  function rotateNotices() {
    clearInterval(noticeTimer); noticeTimer = null;
    var board = el("notice-board");
    if (board && board.querySelectorAll(".notice-slide").length > 1) {
      noticeTimer = setInterval(nextNotice, Number(board.dataset.rotate) * 1000);
    }
  }
  // -- end of Notices -----------------------------------------------------------------

  ["pointerdown", "keydown", "input", "wheel", "touchstart"].forEach(function (type) {
    document.addEventListener(type, activity, { capture: true, passive: true });
    document.addEventListener(type, function () { if (noticeTimer) rotateNotices(); },
                              { capture: true, passive: true });
  });
  ["pointerdown", "keydown"].forEach(function (type) {  // sound is allowed after a touch
    document.addEventListener(type, function () { if (alarmOn()) startAudio(); },
                              { capture: true, passive: true });
  });
  document.addEventListener("click", function (e) {
    if (e.target && e.target.id === "idle-stay") { arm(); lastPing = 0; keepAlive(); }
  });
  // a new page (boosted navigation) re-arms the timer; background polls do not
  // and a poll of the queue, or another page, may start or end the alarm
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail && e.detail.boosted) { arm(); rotateNotices(); }
    updateAlarm();
  });
  // a boosted page swaps only the body: carry its <html lang> over too (a language switch
  // sent with a form, e.g. on the details step, is such a page)
  document.addEventListener("htmx:beforeSwap", function (e) {
    var html = e.detail && e.detail.shouldSwap && typeof e.detail.serverResponse === "string"
      ? /<html[^>]*\slang="([A-Za-z-]+)"/.exec(e.detail.serverResponse) : null;
    if (html) document.documentElement.lang = html[1];
  });
  document.addEventListener("click", function (e) {
    if (e.target && e.target.closest && e.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("DOMContentLoaded", function () { arm(); updateAlarm(); rotateNotices(); });
})();
