// What JavaScript adds to pages that work without it: the visitor's own time zone,
// a live countdown to a deadline, and one submission per click of a form. Every word it writes
// comes from the page (#page-words), in the page's language.
(function () {
  "use strict";

  // The words this script writes, in the page's language (base.html's #page-words, from pages/words.py).
  var words = {};
  try {
    words = JSON.parse(document.getElementById("page-words").textContent) || {};
  } catch (e) {
    words = {};
  }
  function say(name, values) {
    return String(words[name] || "").replace(/%\((\w+)\)s/g, function (whole, key) {
      return values && key in values ? String(values[key]) : whole;
    });
  }

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
    // The weekday's number in the visitor's zone (0 = Monday), for the page's own "Thursdays".
    var weekdayNumber = new Intl.DateTimeFormat("en-US", { weekday: "short", timeZone: browserZone });
    var hourNumber = new Intl.DateTimeFormat("en-US", { hour: "numeric", hourCycle: "h23", timeZone: browserZone });
    var DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
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
      var text;
      if (kind === "weekly") {
        // Spanish says "a la 1:00" but "a las 18:00": the hour decides the wording.
        var one = parseInt(hourNumber.format(instant), 10) === 1;
        var day = (words.weekdays || [])[DAYS.indexOf(weekdayNumber.format(instant))] || "";
        text = say(one ? "weekly_one" : "weekly", { weekday: day, time: clock.format(instant) });
      } else {
        text = kind === "time" ? shortWeekday.format(instant) + " " + clock.format(instant) : format.format(instant);
      }
      note.textContent = kind === "time" ? say("your_time_short", { when: text }) : " " + say("your_time", { when: text });
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
      el.textContent = hours > 0
        ? say("left_hours", { hours: hours, minutes: String(minutes).padStart(2, "0") })
        : say("left_minutes", { minutes: minutes, seconds: String(seconds).padStart(2, "0") });
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
