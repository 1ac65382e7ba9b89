// Load generator (its own process): C clients in rooms of 2; each signals its partner.
// Phase 1: fixed aggregate rate → one-way latency. Phase 2: window of W acked requests per
// client → saturated throughput. Prints one JSON line.
import { io, type Socket } from 'socket.io-client';
import { TokenService } from '../../packages/server/src/auth/TokenService.ts';
import { BENCH_SECRET } from './secret.ts';

const [url, clientsArg, rateArg, latSecArg, satSecArg, windowArg] = process.argv.slice(2);
const CLIENTS = Number(clientsArg ?? 200);
const RATE = Number(rateArg ?? 500);
const LAT_SEC = Number(latSecArg ?? 5);
const SAT_SEC = Number(satSecArg ?? 5);
const WINDOW = Number(windowArg ?? 4);

const tokens = new TokenService({ secret: BENCH_SECRET, apiKeys: {}, tokenTtlSec: 3600 });
const SDP = `v=0\r\n${'a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host generation 0\r\n'.repeat(40)}`;
const CANDIDATE = {
  candidate: 'candidate:842163049 1 udp 1677729535 198.51.100.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0',
  sdpMid: '0',
  sdpMLineIndex: 0,
};

interface Client {
  socket: Socket;
  id: string;
  partner: string;
}

/** Message i of the mix: 1 offer, 1 answer, 8 candidates per 10 (about 790 B on average). */
function message(i: number, to: string): [string, unknown] {
  const sentAt = performance.now() + performance.timeOrigin;
  if (i % 10 === 0) return ['offer', { to, description: { type: 'offer', sdp: `${SDP}a=x-sent:${sentAt}\r\n` } }];
  if (i % 10 === 5) return ['answer', { to, description: { type: 'answer', sdp: `${SDP}a=x-sent:${sentAt}\r\n` } }];
  return ['candidate', { to, candidate: { ...CANDIDATE, usernameFragment: String(sentAt) } }];
}

function sentAtOf(msg: { description?: { sdp?: string }; candidate?: { usernameFragment?: string } }): number {
  if (msg.candidate?.usernameFragment) return Number(msg.candidate.usernameFragment);
  const m = /a=x-sent:([\d.]+)/.exec(msg.description?.sdp ?? '');
  return m ? Number(m[1]) : NaN;
}

const latencies: number[] = [];
let delivered = 0;
let recording = false;

async function connect(i: number): Promise<Client> {
  const room = `r${Math.floor(i / 2)}`;
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const res = (await socket
    .timeout(15_000)
    .emitWithAck('join', { room, name: `c${i}`, token: tokens.mint({ identity: `c${i}`, room }) })) as {
    ok: boolean;
    data?: { self: { id: string } };
  };
  if (!res.ok || !res.data) throw new Error(`join failed: ${JSON.stringify(res)}`);
  for (const event of ['offer', 'answer', 'candidate']) {
    socket.on(event, (msg: Parameters<typeof sentAtOf>[0]) => {
      if (!recording) return;
      delivered++;
      const sent = sentAtOf(msg);
      if (Number.isFinite(sent)) latencies.push(performance.now() + performance.timeOrigin - sent);
    });
  }
  return { socket, id: res.data.self.id, partner: '' };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

const t0 = performance.now();
const clients: Client[] = [];
for (let i = 0; i < CLIENTS; i += 50) {
  clients.push(...(await Promise.all(Array.from({ length: Math.min(50, CLIENTS - i) }, (_, k) => connect(i + k)))));
}
for (let i = 0; i < clients.length; i += 2) {
  clients[i]!.partner = clients[i + 1]!.id;
  clients[i + 1]!.partner = clients[i]!.id;
}
const rampMs = performance.now() - t0;

// Phase 1: fixed rate.
recording = true;
let n = 0;
const perTick = RATE / 100;
let carry = 0;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    carry += perTick;
    for (; carry >= 1; carry--, n++) {
      const c = clients[n % clients.length]!;
      const [event, payload] = message(n, c.partner);
      c.socket.emit(event, payload, () => {});
    }
  }, 10);
  setTimeout(() => {
    clearInterval(timer);
    resolve();
  }, LAT_SEC * 1000);
});
await new Promise((r) => setTimeout(r, 500));
const sorted = [...latencies].sort((a, b) => a - b);
const latency = { p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length };

// Phase 2: saturation with a window of acked requests per client.
delivered = 0;
let stop = false;
process.stdout.write('PHASE sat-start\n');
const startSat = performance.now();
await Promise.all(
  clients.map(async (c, ci) => {
    let i = ci;
    const lane = async () => {
      while (!stop) {
        const [event, payload] = message(i++, c.partner);
        await c.socket
          .timeout(10_000)
          .emitWithAck(event, payload)
          .catch(() => undefined);
      }
    };
    const timer = setTimeout(() => (stop = true), SAT_SEC * 1000);
    await Promise.all(Array.from({ length: WINDOW }, lane));
    clearTimeout(timer);
  }),
);
const satSec = (performance.now() - startSat) / 1000;
process.stdout.write('PHASE sat-end\n');
const throughput = delivered / satSec;
for (const c of clients) c.socket.close();
process.stdout.write(`${JSON.stringify({ clients: CLIENTS, rampMs, latency, throughput, delivered })}\n`);
process.exit(0);
