// Load-test benchmark: `parley load-test` drives one ~1.5 Mbit/s 1280x720 VP8 publisher and N
// subscribers through Parley's real signaling and SFU rooms (bench/loadtest/server.ts: the whole
// app, not a bench-only path). Per N: server CPU time per RTP packet received by all subscribers
// (from the server's /metrics CPU counter over the load test's window), loss, time to first frame,
// and the load generator's own CPU. The anchor, a bare node-datachannel relay, runs in the same
// bench with the same clip and N (bench/sfu/relay.ts with the sfu bench's light load process).
// With taskset the server is pinned to core 0 and the load to core 1.
//   npm run bench -- loadtest [--subs 40,160,320 --window 10 --no-pin]
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnCommandReady } from './lib/spawnReady.ts';
import { makeClip, runOne } from './sfu.ts';
import type { LoadTestResult } from '@parley-rtc/bots/load/LoadTest';
import { percentile } from '@parley-rtc/bots/stats/report';

const here = fileURLToPath(new URL('.', import.meta.url));
const cli = fileURLToPath(new URL('../packages/server/src/cli.ts', import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function taskset(cpu: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [command, args] : ['taskset', ['-c', cpu, command, ...args]];
}

/** Runs `parley load-test --json` to the end and parses its result. */
function loadTest(args: string[], cpu: string | undefined, timeoutMs: number): Promise<LoadTestResult> {
  const [cmd, argv] = taskset(cpu, process.execPath, ['--import', 'tsx', cli, 'load-test', ...args, '--json']);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out) as LoadTestResult);
      } catch {
        reject(new Error(`load-test exited with ${code}: ${err.trim().split('\n').slice(-2).join(' ')}`));
      }
    });
  });
}

const pct = (values: number[], p: number): number => percentile(values, p) ?? NaN;

export async function benchLoadTest(): Promise<void> {
  const ns = arg('subs', '40,160,320')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0 && n <= 1000);
  const windowS = Number(arg('window', '10'));
  const pin = !process.argv.includes('--no-pin') && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const clip = makeClip();
  console.log(
    '\n## loadtest: `parley load-test` → real signaling and SFU rooms, one 1280x720@30 VP8 publisher (~1.5 Mbit/s) → N subscribers',
  );
  console.log(
    `server pinned to core 0, load to core 1: ${pin ? 'yes' : 'no'}; window ${windowS} s after everyone joined; µs/pkt = server CPU time / RTP packets received by all subscribers`,
  );
  console.log(
    '| system | N | connected | server CPU % (one core) | µs/pkt | loss % | time to first frame median / p90 ms | load generator CPU % |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const n of ns) {
    const [sc, sa] = taskset(pin ? '0' : undefined, process.execPath, ['--import', 'tsx', `${here}loadtest/server.ts`]);
    const server = await spawnCommandReady(sc, sa, 'load-test bench server');
    try {
      const r = await loadTest(
        [
          '--url',
          `http://127.0.0.1:${server.port}`,
          '--room',
          'bench',
          '--publishers',
          '1',
          '--subscribers',
          String(n),
          '--audio',
          'none',
          '--video',
          clip,
          '--duration',
          String(windowS),
          '--concurrency',
          '16',
          '--bind',
          '127.0.0.1',
        ],
        pin ? '1' : undefined,
        (windowS + 240) * 1000,
      );
      const packets = r.subscribers.reduce((s, x) => s + x.packets, 0);
      const cpuSec = ((r.serverCpuPercent ?? NaN) / 100) * (r.windowMs / 1000);
      const loss = pct(
        r.subscribers.map((s) => s.lossPct),
        50,
      );
      console.log(
        `| Parley (signaling + SFU rooms) | ${n} | ${r.connected}/${r.planned} | ${(r.serverCpuPercent ?? NaN).toFixed(1)} | ${((cpuSec * 1e6) / packets).toFixed(2)} | ${loss.toFixed(3)} | ${pct(r.ttffMs, 50).toFixed(0)} / ${pct(r.ttffMs, 90).toFixed(0)} | ${r.generatorCpuPercent.toFixed(1)} |`,
      );
    } catch (err) {
      console.log(`| Parley (signaling + SFU rooms) | ${n} | failed: ${(err as Error).message.slice(0, 160)} | | | | | |`);
    } finally {
      await server.stop();
    }
    try {
      const a = await runOne(n, clip, { windowS, warmupS: 4, concurrency: 16, pin }, 'sfu/relay.ts');
      console.log(
        `| bare ndc relay (anchor, same run) | ${n} | ${n - a.failed}/${n} | ${a.cpuPct.toFixed(1)} | ${a.usPerPkt.toFixed(2)} | ${a.lossPct.toFixed(3)} | - | ${a.loadPct.toFixed(1)} |`,
      );
    } catch (err) {
      console.log(`| bare ndc relay (anchor, same run) | ${n} | failed: ${(err as Error).message.slice(0, 160)} | | | | | |`);
    }
  }
  console.log(
    'Load generator CPU: the whole `parley load-test` process (publisher, N subscribers with socket.io clients and node-datachannel peers, counting every packet) ' +
      'over its run including the ramp. Janus 1.1.2 VideoRoom measured on this machine for the issue: 34.6 µs/pkt at 160 subscribers with 1.8 % loss (not rerun here).',
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchLoadTest();
