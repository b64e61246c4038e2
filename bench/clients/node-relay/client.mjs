// A second load client for workload (a), relay fan-out, written on Node and
// the `ws` library and independent of corkboard-bench's Rust code: SUBSCRIBERS
// connections join one room, the first SENDERS of them send 64-byte payloads
// carrying their send time, spread evenly over each period, at RATE per second
// in total, and every other member's receive time gives the latency. It speaks
// each server's own protocol (Corkboard signals, the ws relay, Socket.IO's
// Engine.IO framing, Nchan pubsub) and prints one JSON line like
// `corkboard-bench relay`, with the server's CPU per delivery read from /proc.
//
//   node client.mjs --target corkboard|ws|socketio|nchan --url http://127.0.0.1:PORT
//     [--token T] [--subscribers 1000] [--senders 10] [--rate 100] [--duration 6]
//     [--server-pid PID] [--sources 8]
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
  }, []),
);
const target = args.target ?? 'corkboard';
const url = (args.url ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const token = args.token ?? 'bench';
const subscribers = Number(args.subscribers ?? 1000);
const senders = Number(args.senders ?? 10);
const rate = Number(args.rate ?? 100);
const duration = Number(args.duration ?? 6);
const serverPid = args['server-pid'] ? Number(args['server-pid']) : null;
const sources = Number(args.sources ?? 8);
const LABEL = { corkboard: 'corkboard', ws: 'node-ws', socketio: 'socket.io', nchan: 'nchan' };

const t0 = process.hrtime.bigint();
const nowUs = () => Number((process.hrtime.bigint() - t0) / 1000n);

/** CPU seconds and RSS bytes of the server, from /proc. */
function procStats(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(f[11]) + Number(f[12])) / 100;
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
    return { cpu, rss };
  } catch {
    return null;
  }
}

/** Corkboard: a fresh user, an API token and a board. */
async function corkboardRoom() {
  const name = `nbench_${Math.random().toString(36).slice(2, 14)}`;
  const r = await fetch(`${url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, password: 'bench-password' }),
  });
  if (r.status !== 201) throw new Error(`signup: ${r.status} ${await r.text()}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const t = await (await fetch(`${url}/api/tokens`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json' },
    body: '{"name":"bench"}',
  })).json();
  const b = await (await fetch(`${url}/api/boards`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
    body: '{"title":"bench"}',
  })).json();
  return { token: t.token, room: b.id };
}

/** Opens connection i and resolves once it has joined the room. */
function join(i, room, credential) {
  const base = url.replace(/^http/, 'ws');
  const localAddress = `127.0.0.${1 + (i % sources)}`;
  return new Promise((resolve, reject) => {
    let ws;
    let joined = () => false;
    if (target === 'corkboard') {
      ws = new WebSocket(`${base}/ws`, 'corkboard.v1', {
        localAddress,
        headers: { authorization: `Bearer ${credential}` },
      });
      ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', board: room })));
      joined = (t) => t.startsWith('{"type":"subscribed"');
    } else if (target === 'ws') {
      ws = new WebSocket(`${base}/?token=${credential}`, { localAddress });
      ws.on('open', () => ws.send(`join ${room}`));
      joined = (t) => t === `joined ${room}`;
    } else if (target === 'socketio') {
      ws = new WebSocket(`${base}/socket.io/?EIO=4&transport=websocket`, { localAddress });
      joined = (t) => {
        if (t.startsWith('0')) ws.send(`40${JSON.stringify({ token: credential })}`);
        else if (t.startsWith('40')) ws.send(`42${JSON.stringify(['join', room])}`);
        return t === `42${JSON.stringify(['joined', room])}`;
      };
    } else if (target === 'nchan') {
      ws = new WebSocket(`${base}/room/${room}?token=${credential}`, { localAddress });
      ws.on('open', () => resolve(ws));
    } else {
      reject(new Error(`unknown target ${target}`));
      return;
    }
    ws.on('error', reject);
    const onJoin = (data) => {
      const t = data.toString();
      if (target === 'socketio' && t === '2') return ws.send('3');
      if (joined(t)) {
        ws.off('message', onJoin);
        resolve(ws);
      }
    };
    ws.on('message', onJoin);
  });
}

/** One 64-byte payload `t=<µs>;s=<i>;xxx…`, framed for the target. */
function frame(room, i) {
  let p = `t=${nowUs()};s=${i};`;
  p = p.padEnd(64, 'x');
  if (target === 'corkboard') return JSON.stringify({ type: 'signal', board: room, name: 'typing', data: { p } });
  if (target === 'socketio') return `42${JSON.stringify(['msg', p])}`;
  return p;
}

async function main() {
  const { token: credential, room } = target === 'corkboard' ? await corkboardRoom() : { token, room: 'bench-room' };
  const latencies = [];
  let delivered = 0;
  let lastUs = 0;
  let dropped = 0;
  let measuring = true;
  const conns = [];
  for (let start = 0; start < subscribers; start += 100) {
    const batch = [];
    for (let i = start; i < Math.min(subscribers, start + 100); i++) batch.push(join(i, room, credential));
    conns.push(...(await Promise.all(batch)));
  }
  conns.forEach((ws, me) => {
    ws.on('message', (data) => {
      const t = data.toString();
      if (target === 'socketio' && t === '2') return ws.send('3');
      const at = t.indexOf('t=');
      if (at < 0 || !measuring) return;
      const semi = t.indexOf(';', at);
      const s = t.indexOf(';s=', at);
      if (s >= 0 && Number(t.slice(s + 3, t.indexOf(';', s + 3))) === me) return; // its own echo
      const now = nowUs();
      latencies.push(now - Number(t.slice(at + 2, semi)));
      delivered += 1;
      lastUs = now;
    });
    ws.on('close', () => {
      if (measuring) dropped += 1;
    });
  });
  await new Promise((r) => setTimeout(r, 1000));
  const cpu0 = serverPid ? procStats(serverPid) : null;
  const firstUs = nowUs();
  const periodMs = 1000 / Math.max(rate / Math.max(senders, 1), 0.1);
  const endUs = firstUs + duration * 1e6;
  let sent = 0;
  // Each sender i starts i/senders of a period late, and schedules from the
  // clock, not from the last timer, so the offered rate holds.
  await Promise.all(
    Array.from({ length: Math.min(senders, conns.length) }, (_, i) => new Promise((resolve) => {
      const first = firstUs / 1000 + (periodMs * i) / senders;
      let k = 0;
      const tick = () => {
        const nowMs = nowUs() / 1000;
        while (first + k * periodMs <= nowMs) {
          if (nowUs() >= endUs) return resolve();
          conns[i].send(frame(room, i));
          sent += 1;
          k += 1;
        }
        setTimeout(tick, Math.max(0, first + k * periodMs - nowUs() / 1000));
      };
      setTimeout(tick, Math.max(0, first - nowUs() / 1000));
    })),
  );
  // Let queued payloads arrive: until nothing new for 300 ms, at most 5 s.
  for (let seen = -1, waited = 0; waited < 5000 && delivered !== seen; waited += 300) {
    seen = delivered;
    await new Promise((r) => setTimeout(r, 300));
  }
  const cpu1 = serverPid ? procStats(serverPid) : null;
  measuring = false;
  const sorted = Float64Array.from(latencies).sort();
  const q = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1000 : 0);
  const secs = Math.max((Math.max(lastUs, firstUs + 1) - firstUs) / 1e6, duration);
  const out = {
    workload: 'relay fan-out (64-byte payloads)',
    client: 'node-ws-client',
    server: LABEL[target],
    subscribers,
    senders,
    offered_per_sec: rate,
    offered_deliveries_per_sec: rate * (subscribers - 1),
    sent,
    deliveries: delivered,
    expected_deliveries: sent * (subscribers - 1),
    deliveries_per_sec: Math.round(delivered / secs),
    connections_dropped: dropped,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    p999_ms: q(0.999),
  };
  if (cpu0 && cpu1) {
    out.server_cpu_us_per_delivery = Math.round(((cpu1.cpu - cpu0.cpu) * 1e6 / Math.max(delivered, 1)) * 100) / 100;
    out.server_rss_mib = Math.round(cpu1.rss / 1048576);
  }
  console.log(JSON.stringify(out));
  for (const ws of conns) ws.terminate();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
