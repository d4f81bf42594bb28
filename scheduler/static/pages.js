// What JavaScript adds to pages that work without it: the visitor's own time zone,
// a live countdown to a deadline, and one submission per click of a form.
(function () {
  "use strict";

  var browserZone = null;
  try {
    browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch (e) {
    browserZone = null;
  }

  // The Time zone field defaults to the browser's zone (unless the person already chose one).
  var zoneSelect = document.querySelector("select[data-browser-zone]");
  if (zoneSelect && browserZone) {
    for (var i = 0; i < zoneSelect.options.length; i++) {
      if (zoneSelect.options[i].value === browserZone) {
        zoneSelect.value = browserZone;
        break;
      }
    }
  }

  // Beside a time shown in the group's zone, the same instant in the visitor's zone when it differs.
  if (browserZone && window.Intl) {
    // The page's language decides the format (as the server's text beside it), never the browser's:
    // one page does not mix "6:00 PM" and "18:00".
    var pageLang = document.documentElement.lang || "en";
    var locale = pageLang === "en" ? "en-US" : pageLang;
    var format = new Intl.DateTimeFormat(locale, {
      weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
      timeZone: browserZone, timeZoneName: "short"
    });
    var weekday = new Intl.DateTimeFormat(locale, { weekday: "long", timeZone: browserZone });
    var shortWeekday = new Intl.DateTimeFormat(locale, { weekday: "short", timeZone: browserZone });
    var clock = new Intl.DateTimeFormat(locale, {
      hour: "numeric", minute: "2-digit", timeZone: browserZone, timeZoneName: "short"
    });
    document.querySelectorAll("time[data-local-time]").forEach(function (el) {
      if (!el.dataset.zone || el.dataset.zone === browserZone) return;
      var instant = new Date(el.getAttribute("datetime"));
      if (isNaN(instant)) return;
      var note = document.createElement("span");
      note.className = "your-time";
      // "weekly": a group's regular slot, shown as the weekday and time it falls on for the visitor.
      // "time": one session's start, as the weekday and time it falls on for the visitor.
      var kind = el.dataset.localTime;
      var text = kind === "weekly" ? weekday.format(instant) + "s at " + clock.format(instant)
        : kind === "time" ? shortWeekday.format(instant) + " " + clock.format(instant)
        : format.format(instant);
      note.textContent = kind === "time" ? text + " your time" : " (" + text + " your time)";
      el.insertAdjacentElement("afterend", note);
    });
  }

  // A live countdown; at zero the page is loaded again so that it shows what is true now.
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var deadline = new Date(el.dataset.countdown).getTime();
    if (isNaN(deadline)) return;
    el.hidden = false;
    function tick() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var hours = Math.floor(left / 3600), minutes = Math.floor((left % 3600) / 60), seconds = left % 60;
      var text = hours > 0
        ? hours + " h " + String(minutes).padStart(2, "0") + " min left"
        : minutes + ":" + String(seconds).padStart(2, "0") + " left";
      el.textContent = "(" + text + ")";
      if (left === 0) {
        window.clearInterval(timer);
        window.setTimeout(function () { window.location.reload(); }, 1500);
      }
    }
    var timer = window.setInterval(tick, 1000);
    tick();
  });

  // One submission per form: a second click while the first is on its way does nothing.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.setAttribute("aria-disabled", "true");
      });
    });
  });
})();
