// Signaling benchmark: Parley (tokens, validation, rate limiting on) next to a bare Socket.IO
// relay, both measured in this run with the same load generator in its own process.
//   npm run bench:signaling [-- --clients 200 --rate 500 --seconds 5]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { spawnCommandReady, spawnReady, type ReadyChild } from '../lib/spawnReady.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface Result {
  clients: number;
  rampMs: number;
  latency: { p50: number; p99: number; samples: number };
  throughput: number;
  delivered: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no free port');
  return address.port;
}

const FLASK_PYTHON = '/usr/bin/python3';
/** Why the Flask-SocketIO anchor cannot run here, or false. */
function flaskMissing(): string | false {
  if (!existsSync(FLASK_PYTHON)) return `no ${FLASK_PYTHON}`;
  const probe = spawnSync(FLASK_PYTHON, ['-c', 'import flask_socketio, eventlet'], { stdio: 'ignore' });
  return probe.status === 0 ? false : 'Debian packages python3-flask-socketio and python3-eventlet are not installed';
}

async function startKind(kind: string): Promise<ReadyChild> {
  if (kind === 'flask') {
    // Flask-SocketIO's eventlet server has no port 0: pick a free one for it. Wait for the port.
    const port = await freePort();
    const child = await spawnCommandReady(FLASK_PYTHON, [`${here}flask_relay.py`, String(port)], 'flask');
    await waitForPort(port);
    return child;
  }
  return spawnReady(`${here}servers.ts`, [kind, '0'], kind);
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function run(kind: string, opts: { clients: number; rate: number; seconds: number }) {
  const server = await startKind(kind);
  const { port } = server;
  const pid = server.child.pid!;
  try {
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const load = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        `${here}load.ts`,
        `http://127.0.0.1:${port}`,
        String(opts.clients),
        String(opts.rate),
        String(opts.seconds),
        String(opts.seconds),
        '4',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const phaseCpu: Record<string, number> = {};
    load.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/PHASE (sat-start|sat-end)\n/g)) phaseCpu[m[1]!] ??= cpuSeconds(pid);
    });
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssKiB(pid))), 250);
    const code = await new Promise<number | null>((resolve) => load.once('exit', resolve));
    clearInterval(sampler);
    if (code !== 0) throw new Error(`load generator for ${kind} exited with ${code}`);
    const result = JSON.parse(out.trim().split('\n').pop()!) as Result;
    const cpuPct = ((cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    const satCpu = (phaseCpu['sat-end'] ?? NaN) - (phaseCpu['sat-start'] ?? NaN);
    const cpuUsPerMsg = (satCpu / result.delivered) * 1e6;
    return { kind, ...result, cpuPct, cpuUsPerMsg, peakRssMiB: peakRss / 1024 };
  } finally {
    await server.stop();
  }
}

const LABELS: Record<string, string> = {
  parley: 'Parley (tokens + validation + rate limits + metrics)',
  socketio: 'bare Socket.IO relay (upper bound)',
  flask: 'Flask-SocketIO relay (the original design, eventlet)',
};

export async function benchSignaling(): Promise<void> {
  const opts = { clients: arg('clients', 200), rate: arg('rate', 500), seconds: arg('seconds', 5) };
  console.log(`\n## Signaling: ${opts.clients} clients in rooms of 2, mixed offer/answer/candidate (~790 B avg)`);
  console.log(
    `latency at ${opts.rate} msg/s for ${opts.seconds} s; saturation: 4 acked requests in flight per client for ${opts.seconds} s\n`,
  );
  const results = [];
  const missing = flaskMissing();
  const kinds = missing ? ['socketio', 'parley'] : ['socketio', 'parley', 'flask'];
  for (const kind of kinds) results.push(await run(kind, opts));
  console.log(
    '| server | ramp | p50 / p99 one-way at fixed rate | saturated relayed msg/s | server CPU-µs per relayed msg | server CPU (whole run) | peak RSS |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${LABELS[r.kind] ?? r.kind} | ${r.rampMs.toFixed(0)} ms | ${r.latency.p50.toFixed(2)} / ${r.latency.p99.toFixed(2)} ms | ${r.throughput.toFixed(0)} | ${r.cpuUsPerMsg.toFixed(0)} µs | ${r.cpuPct.toFixed(0)} % | ${r.peakRssMiB.toFixed(0)} MiB |`,
    );
  }
  const [bare, parley, flask] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0] | undefined];
  console.log(`\nParley / bare Socket.IO throughput: ${(parley.throughput / bare.throughput).toFixed(2)}x (goal ≥ 0.80x)`);
  console.log(
    `Parley / bare Socket.IO server CPU per relayed message: ${(parley.cpuUsPerMsg / bare.cpuUsPerMsg).toFixed(2)}x (the load generator is one process; when the servers are not saturated, CPU per message is the fairer comparison)`,
  );
  if (flask) console.log(`Parley / Flask-SocketIO throughput: ${(parley.throughput / flask.throughput).toFixed(1)}x`);
  else console.log(`Flask-SocketIO anchor skipped: ${missing}`);
  console.log(
    'Anchors measured earlier on this kind of machine (shared/bench/signaling, C=1000 R=2): bare Socket.IO 52.8k msg/s, p50/p99 0.09/0.33 ms at 500 msg/s; Flask-SocketIO seed-room 3.3k msg/s, 0.56/74 ms.',
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await benchSignaling();
