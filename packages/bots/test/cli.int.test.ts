/**
 * `parley load-test` and `parley bot` as a user runs them: the real CLI in a child process
 * against a real server on port 0. Exit codes, the server's refusals per participant, token
 * minting, Ctrl-C with a clean leave, and a server that goes away mid-run. Bounded waits only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerInfo } from '@parley-rtc/protocol';
import { data, nextEvent, request, startServer, type TestServer } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';

const CLI = fileURLToPath(new URL('../../server/src/cli.ts', import.meta.url));
const children = new Set<ChildProcess>();

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function parley(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Waits for the run to end, with a deadline (the run is killed past it). */
async function finished(run: Run, timeoutMs: number): Promise<{ code: number | null }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`still running after ${timeoutMs} ms\nstdout: ${run.stdout()}\nstderr: ${run.stderr()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([run.exit, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const MEDIA = ['--bind', '127.0.0.1', '--video-size', '160x120', '--video-fps', '15', '--video-kbps', '150'];

after(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('parley load-test', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ media: { bindAddress: '127.0.0.1' } });
  });
  after(() => server?.close());

  test('one publisher and three subscribers: everyone connects, every subscriber gets video, exit 0', async () => {
    const run = parley([
      'load-test',
      '--url',
      server.app.url,
      '--room',
      'lt',
      '--publishers',
      '1',
      '--subscribers',
      '3',
      '--duration',
      '3',
      '--json',
      ...MEDIA,
    ]);
    const { code } = await finished(run, 90_000);
    assert.equal(code, 0, run.stderr());
    const result = JSON.parse(run.stdout()) as {
      planned: number;
      connected: number;
      missingVideo: number;
      ttffMs: number[];
      subscribers: Array<{ kbps: number; lossPct: number }>;
      serverCpuPercent: number | null;
    };
    assert.equal(result.planned, 4);
    assert.equal(result.connected, 4);
    assert.equal(result.missingVideo, 0);
    assert.equal(result.ttffMs.length, 3, 'a first frame per subscriber');
    for (const s of result.subscribers) assert.ok(s.kbps > 50, `subscriber bitrate ${s.kbps} kbit/s`);
    assert.equal(typeof result.serverCpuPercent, 'number', 'server CPU read from /metrics');
  });

  test("the table names the server's refusal per participant and the exit code says it failed", async () => {
    const small = await startServer({ media: { bindAddress: '127.0.0.1' }, limits: { maxPeersPerRoom: 2 } });
    try {
      const run = parley(['load-test', '--url', small.app.url, '--publishers', '1', '--subscribers', '2', '--duration', '1', ...MEDIA]);
      const { code } = await finished(run, 60_000);
      assert.equal(code, 1);
      assert.match(run.stdout(), /participants connected\s+2 \/ 3/);
      assert.match(run.stdout(), /failed to join\s+ROOM_FULL × 1/);
    } finally {
      await small.close();
    }
  });

  test('with auth on, participants without a token are refused; with PARLEY_AUTH_SECRET the CLI mints one each', async () => {
    const secret = 'cli-test-secret-0123456789';
    const guarded = await startServer({ media: { bindAddress: '127.0.0.1' }, auth: { secret } });
    try {
      const refused = parley(
        ['load-test', '--url', guarded.app.url, '--publishers', '1', '--subscribers', '1', '--duration', '1', ...MEDIA],
        { PARLEY_AUTH_SECRET: '' },
      );
      assert.equal((await finished(refused, 60_000)).code, 1);
      assert.match(refused.stdout(), /failed to join\s+UNAUTHORIZED × 2/);
      const minted = parley(
        ['load-test', '--url', guarded.app.url, '--publishers', '1', '--subscribers', '1', '--duration', '1', ...MEDIA],
        { PARLEY_AUTH_SECRET: secret },
      );
      assert.equal((await finished(minted, 60_000)).code, 0, minted.stdout() + minted.stderr());
    } finally {
      await guarded.close();
    }
  });

  test('a server that goes away mid-run: reported as dropped, exit 1, within the duration and a short grace', async () => {
    const doomed = await startServer({ media: { bindAddress: '127.0.0.1' } });
    const run = parley(['load-test', '--url', doomed.app.url, '--publishers', '1', '--subscribers', '2', '--duration', '8', ...MEDIA]);
    await waitFor(() => /measuring/.test(run.stderr()), 60_000, 'the measuring phase');
    await doomed.close();
    const { code } = await finished(run, 30_000);
    assert.equal(code, 1);
    assert.match(run.stdout(), /dropped during the run\s+3/, run.stdout());
  });

  test('bad flags get a message and exit code 2', async () => {
    const run = parley(['load-test', '--publishers', 'many']);
    assert.equal((await finished(run, 30_000)).code, 2);
    assert.match(run.stderr(), /--publishers must be a whole number/);
    const unknown = parley(['load-test', '--wat']);
    assert.equal((await finished(unknown, 30_000)).code, 2);
    assert.match(unknown.stderr(), /Unknown option '--wat'/);
  });
});

describe('parley bot', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ media: { bindAddress: '127.0.0.1' } });
  });
  after(() => server?.close());

  test('two bots join, report what they receive, and leave cleanly on SIGINT', async () => {
    const watcher = await server.connect();
    data(await request<{ self: PeerInfo }>(watcher, 'join', { room: 'demo', name: 'watcher' }));
    const run = parley(['bot', '--url', server.app.url, '--room', 'demo', '--count', '2', '--interval', '1', ...MEDIA]);
    await waitFor(
      () => /from bot-2: video [1-9]/.test(run.stdout()) && /from bot-1: video [1-9]/.test(run.stdout()),
      60_000,
      'reception reports',
    );
    const left = [nextEvent<{ id: string }>(watcher, 'peer_left', 30_000)];
    run.child.kill('SIGINT');
    const { code } = await finished(run, 30_000);
    assert.equal(code, 0, run.stderr());
    assert.match(run.stdout(), /stopping \(SIGINT\): leaving the room/);
    await Promise.all(left);
  });
});
