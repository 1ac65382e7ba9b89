// The product as a user installs it: the five npm tarballs installed into an empty directory with
// --omit=dev, by the very steps deploy/container/Dockerfile runs, then `npx parley` from there.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { connectSocket, request } from '@parley-rtc/test-support/server';
import { commandArgv, parseDockerfile, stageEnv, type Stage } from './dockerfile.ts';
import { repoRoot, tarballs, userEnv } from '@parley-rtc/test-support/packed';
import { spawnListening, type ServerProcess } from './serverProcess.ts';

const run = promisify(execFile);
const DOCKERFILE = join(repoRoot, 'deploy/container/Dockerfile');
const INSTALL_DIR = '/opt/parley';
const scratch = mkdtempSync(join(tmpdir(), 'parley-install-test-'));
const installDir = join(scratch, 'opt-parley');
const { stages } = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const runtime = stages[stages.length - 1]!;
const version = (JSON.parse(readFileSync(join(repoRoot, 'packages/server/package.json'), 'utf8')) as { version: string }).version;

/** The one instruction of a stage with this keyword (the last one, as Docker does). */
function only(stage: Stage, keyword: string): string {
  const found = stage.instructions.filter((i) => i.keyword === keyword);
  assert.ok(found.length > 0, `the ${stage.name ?? 'unnamed'} stage has no ${keyword}`);
  return found[found.length - 1]!.args;
}

/** A container path inside the installation, mapped to the test's directory. */
const onHost = (path: string) => path.replaceAll(INSTALL_DIR, installDir);

/** Processes whose parent is `pid`, recursively (to prove nothing outlives a stopped server). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry), ...descendants(Number(entry)));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The server's exit, or a failure once `ms` pass without one (a hung shutdown must not hang the suite). */
async function exitedWithin(server: ServerProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after the signal`)), ms);
  });
  try {
    return await Promise.race([server.exited, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the installed server the way the container does (ENTRYPOINT + CMD, its ENV), from `cwd`. */
function startInstalled(cwd: string, via: 'entrypoint' | 'bin', extraEnv: Record<string, string> = {}): Promise<ServerProcess> {
  const env = userEnv({ ...stageEnv(runtime), PARLEY_HOST: '127.0.0.1', PARLEY_PORT: '0', PARLEY_DATA_DIR: '', ...extraEnv });
  // The bin npx resolves to. (npx itself runs it under `sh -c` and does not pass SIGTERM on, so
  // supervisors run the bin or dist/cli.js directly; in a terminal Ctrl-C reaches every process.)
  if (via === 'bin') return spawnListening(join(installDir, 'node_modules/.bin/parley'), ['serve'], { cwd, env });
  const [command, ...args] = [...commandArgv(only(runtime, 'ENTRYPOINT')), ...commandArgv(only(runtime, 'CMD'))].map(onHost);
  return spawnListening(command!, args, { cwd, env });
}

describe('installed from the npm tarballs (deploy/container/Dockerfile steps)', () => {
  before(async () => {
    const files = await tarballs();
    const build = stages.find((s) => s.instructions.some((i) => i.keyword === 'WORKDIR' && i.args === INSTALL_DIR));
    assert.ok(build, `no stage of the Dockerfile installs into ${INSTALL_DIR}`);
    // Run the install stage's RUN lines from WORKDIR /opt/parley on: /tarballs are our packs.
    const from = build.instructions.findIndex((i) => i.keyword === 'WORKDIR' && i.args === INSTALL_DIR);
    const steps = build.instructions.slice(from + 1).filter((i) => i.keyword === 'RUN');
    assert.ok(steps.length > 0, 'the install stage runs nothing');
    execFileSync('mkdir', ['-p', installDir]);
    for (const step of steps) {
      const script = onHost(step.args).replaceAll('/tarballs/*.tgz', [...files.values()].map((f) => `'${f}'`).join(' '));
      execFileSync('sh', ['-c', script], { cwd: installDir, stdio: ['ignore', 'ignore', 'inherit'], env: userEnv() });
    }
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('the Dockerfile builds in one stage and runs slim, non-root, with a health check', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    for (const s of stages) assert.match(s.image, /^node:\d+-/, `${s.image} is an official Node image`);
    assert.match(runtime.image, /-slim$/);
    const user = only(runtime, 'USER');
    assert.notEqual(user, 'root');
    assert.notEqual(user, '0');
    assert.match(only(runtime, 'HEALTHCHECK'), /\/healthz/);
    assert.equal(only(runtime, 'STOPSIGNAL'), 'SIGTERM');
    assert.ok(
      runtime.instructions.some((i) => i.keyword === 'COPY' && i.args.includes(INSTALL_DIR)),
      'the runtime copies the installed tree',
    );
  });

  test('the installed tree holds compiled code only: no tsx, TypeScript or build tools', () => {
    const modules = join(installDir, 'node_modules');
    // (@types/* do come along: socket.io's engine.io depends on @types/cors and @types/node.)
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vite', 'playwright-core', '@types/better-sqlite3', '@types/pg']) {
      assert.equal(existsSync(join(modules, dev)), false, `${dev} is installed`);
    }
    for (const pkg of ['server', 'client', 'protocol', 'rtc', 'bots']) {
      assert.ok(existsSync(join(modules, '@parley-rtc', pkg, 'dist/index.js')), `@parley-rtc/${pkg} has its build`);
      assert.ok(existsSync(join(modules, '@parley-rtc', pkg, 'dist/index.d.ts')), `@parley-rtc/${pkg} has its types`);
    }
    assert.ok(existsSync(join(modules, '@parley-rtc/server/web/index.html')), 'the web app ships in the server package');
  });

  test('parley --version, --help, token and bad flags', async () => {
    const env = userEnv({ PARLEY_AUTH_SECRET: 'a-secret-of-at-least-16-chars' });
    const parley = (...args: string[]) => run('npx', ['--no-install', 'parley', ...args], { cwd: installDir, env });
    assert.equal((await parley('--version')).stdout.trim(), version);
    assert.match((await parley('serve', '--help')).stdout, /--data-dir/);
    for (const command of ['token', 'turn', 'bot', 'load-test'])
      assert.match((await parley(command, '--help')).stdout, new RegExp(`usage: parley ${command}`));
    const jwt = (await parley('token', '--room', 'r1', '--identity', 'u1')).stdout.trim();
    assert.match(jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const bad = await parley('serve', '--prot', '80').then(
      () => assert.fail('a misspelt flag was accepted'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--prot'/);
  });

  test('parley serve where it was installed: health, web app, a join; SIGTERM ends it and its children', async () => {
    const cwd = installDir;
    const server = await startInstalled(cwd, 'bin');
    try {
      const port = new URL(server.url).port;
      // The container's own HEALTHCHECK command, pointed at this server.
      const health = commandArgv(only(runtime, 'HEALTHCHECK').replace(/^.*?\bCMD\s+/, ''));
      await run(health[0]!, health.slice(1), { env: userEnv({ PARLEY_PORT: port }) });
      const index = await fetch(`${server.url}/`);
      assert.equal(index.status, 200);
      assert.match(await index.text(), /<div id="root">/);
      assert.equal((await fetch(`${server.url}/room/abc`)).status, 200, 'the SPA fallback serves room links');
      const socket = await connectSocket(server.url);
      try {
        const ack = await request<{ self: { id: string } }>(socket, 'join', { room: 'installed', name: 'Ada' });
        assert.equal(ack.ok, true, JSON.stringify(ack));
      } finally {
        socket.close();
      }
      assert.ok(existsSync(join(cwd, 'data')), 'the data dir defaults to ./data in the working directory');
      const tree = [server.child.pid!, ...descendants(server.child.pid!)];
      server.child.kill('SIGTERM');
      const exit = await exitedWithin(server, 30_000);
      assert.equal(exit.code, 0, `parley exited with ${JSON.stringify(exit)}`);
      const leftover = tree.filter(alive);
      assert.deepEqual(leftover, [], 'no process outlives the stopped server');
    } finally {
      await server.kill();
    }
  });

  test('the container entry point stops cleanly on SIGINT', async () => {
    const cwd = mkdtempSync(join(scratch, 'entry-'));
    const server = await startInstalled(cwd, 'entrypoint', { PARLEY_DATA_DIR: join(cwd, 'var-lib-parley') });
    try {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      server.child.kill('SIGINT');
      const exit = await exitedWithin(server, 30_000);
      assert.equal(exit.code, 0, `exited with ${JSON.stringify(exit)}`);
      assert.equal(alive(server.child.pid!), false);
    } finally {
      await server.kill();
    }
  });
});
