// An independent EventSource client for crates/corkboard/tests/sse_eventsource.rs.
//
//   node es.js URL AUTH COUNT [TIMEOUT_MS]
//
// AUTH is `cookie:<session>` or `bearer:<token>`. Every board event (and the
// snapshot) is printed to stdout as one JSON line {"id", "event", "data"};
// each (re)opened connection prints {"open": n}. Exits 0 after COUNT board
// events (the snapshot not counted), 2 on timeout. Reconnecting, with
// Last-Event-ID, is left entirely to the EventSource implementation.
'use strict';

const { EventSource } = require('eventsource');

const [url, auth, countArg, timeoutArg] = process.argv.slice(2);
if (!url || !auth || !countArg) {
  console.error('usage: node es.js URL cookie:<session>|bearer:<token> COUNT [TIMEOUT_MS]');
  process.exit(64);
}
const want = Number(countArg);
const timeoutMs = Number(timeoutArg || 20000);

const sep = auth.indexOf(':');
const scheme = auth.slice(0, sep);
const secret = auth.slice(sep + 1);
const authHeader =
  scheme === 'cookie'
    ? { cookie: `corkboard_session=${secret}` }
    : scheme === 'bearer'
      ? { authorization: `Bearer ${secret}` }
      : null;
if (!authHeader) {
  console.error(`unknown auth scheme ${scheme}`);
  process.exit(64);
}

const KINDS = [
  'snapshot',
  'note.created',
  'note.updated',
  'note.deleted',
  'board.updated',
  'board.deleted',
  'member.joined',
  'member.updated',
  'member.left',
  'shutdown',
];

const es = new EventSource(url, {
  fetch: (input, init) =>
    fetch(input, { ...init, headers: { ...(init && init.headers), ...authHeader } }),
});

let seen = 0;
let opens = 0;
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const timer = setTimeout(() => {
  console.error(`timeout after ${timeoutMs} ms with ${seen} of ${want} events`);
  es.close();
  process.exit(2);
}, timeoutMs);

es.onopen = () => {
  opens += 1;
  out({ open: opens });
};
es.onerror = (e) => {
  // A dropped connection: the EventSource reconnects by itself.
  console.error(`error (readyState ${es.readyState}): ${e && (e.message || e.code || '')}`);
};
for (const kind of KINDS) {
  es.addEventListener(kind, (ev) => {
    out({ id: ev.lastEventId, event: ev.type, data: ev.data });
    if (kind === 'snapshot' || kind === 'shutdown') return;
    seen += 1;
    if (seen >= want) {
      clearTimeout(timer);
      es.close();
      // Let stdout drain before exiting.
      process.stdout.write('', () => process.exit(0));
    }
  });
}
