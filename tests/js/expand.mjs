// Parse an iCalendar file with Mozilla's ical.js (Thunderbird's parser) and print what it sees as JSON.
// Usage: node tests/js/expand.mjs FILE.ics   -> {"calendar": {...}, "events": [...]}
// Feeds (METHOD:PUBLISH) and iMIP invitations (METHOD:REQUEST/CANCEL, with ORGANIZER and ATTENDEE) alike.
// ICAL.parse throws on a malformed line; the VTIMEZONE blocks are registered before expanding,
// so times are resolved through the feed's own zone definition, as a client would.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(process.argv[2], "utf8");
const root = new ICAL.Component(ICAL.parse(text));
if (root.name !== "vcalendar") throw new Error(`not a VCALENDAR: ${root.name}`);

for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtimezone);
}

const events = [];
for (const vevent of root.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(vevent);
  const iterator = event.iterator();
  for (let next = iterator.next(), n = 0; next && n < 1000; next = iterator.next(), n++) {
    const occurrence = event.getOccurrenceDetails(next);
    events.push({
      uid: event.uid,
      start: occurrence.startDate.toJSDate().toISOString(),
      end: occurrence.endDate.toJSDate().toISOString(),
      tzid: event.startDate.zone ? event.startDate.zone.tzid : null,
      local_start: event.startDate.toString(),
      status: vevent.getFirstPropertyValue("status"),
      sequence: event.sequence,
      summary: event.summary,
      location: event.location,
      description: event.description,
      // iTIP (RFC 5546) parts of an invitation; a feed has none.
      organizer: vevent.getFirstPropertyValue("organizer"),
      attendees: vevent.getAllProperties("attendee").map((p) => ({
        value: p.getFirstValue(),
        cn: p.getParameter("cn") || null,
        role: p.getParameter("role") || null,
        partstat: p.getParameter("partstat") || null,
        rsvp: p.getParameter("rsvp") || null,
      })),
      dtstamp: vevent.getFirstPropertyValue("dtstamp") ? vevent.getFirstPropertyValue("dtstamp").toString() : null,
    });
  }
}

const calendar = {
  version: root.getFirstPropertyValue("version"),
  prodid: root.getFirstPropertyValue("prodid"),
  method: root.getFirstPropertyValue("method"),
  name: root.getFirstPropertyValue("x-wr-calname"),
  refresh: String(root.getFirstPropertyValue("refresh-interval")),
  timezones: root.getAllSubcomponents("vtimezone").map((tz) => tz.getFirstPropertyValue("tzid")),
};
process.stdout.write(JSON.stringify({ calendar, events }));
