// Reads an iCalendar feed (file path, or stdin) with ical.js and prints its
// occurrences as JSON: [{uid, status, sequence, tzid, local_start, start_utc, end_utc}].
// The Python tests compare this with what recurring-ical-events and vobject read.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(process.argv[2] ?? 0, "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));

// Zones come from the feed's own VTIMEZONEs, not from the machine's tz database.
for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
}

const pad = (n) => String(n).padStart(2, "0");
const wallClock = (t) =>
  `${t.year}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`;
const utc = (t) => new Date(t.toUnixTime() * 1000).toISOString().replace(".000Z", "Z");

const out = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  const tzid = vevent.getFirstProperty("dtstart").getParameter("tzid") ?? null;
  return {
    uid: event.uid,
    status: vevent.getFirstPropertyValue("status"),
    sequence: event.sequence,
    tzid,
    floating: event.startDate.timezone === "floating",
    local_start: wallClock(event.startDate),
    start_utc: utc(event.startDate),
    end_utc: utc(event.endDate),
  };
});
process.stdout.write(JSON.stringify(out));
