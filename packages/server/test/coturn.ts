import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { spawnCoturn, TURNSERVER_BIN } from '../src/ice/coturn.ts';
import { tcpAccepts } from './tcp.ts';

export const coturnMissing: string | false = existsSync(TURNSERVER_BIN) ? false : `coturn not installed (${TURNSERVER_BIN})`;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

async function waitForTcp(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await tcpAccepts(port);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`coturn did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A throwaway coturn on 127.0.0.1 with `use-auth-secret`. Loopback peers are allowed here only
 * because the test's peers live on loopback; the shipped config denies them.
 */
export async function startCoturn(secret: string, options: { port?: number } = {}): Promise<{ port: number; output: () => string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-coturn-'));
  // A given port lets a test restart "the same" TURN server (ICE restart after a TURN outage).
  const port = options.port ?? (await freePort());
  const relayBase = 40000 + Math.floor(Math.random() * 20000);
  const configFile = join(dir, 'turnserver.conf');
  writeFileSync(
    configFile,
    [
      'listening-ip=127.0.0.1',
      'relay-ip=127.0.0.1',
      `listening-port=${port}`,
      `min-port=${relayBase}`,
      `max-port=${relayBase + 50}`,
      'use-auth-secret',
      'realm=parley-test',
      'fingerprint',
      'no-cli',
      'no-tls',
      'no-dtls',
      'allow-loopback-peers',
      'log-file=stdout',
      'simple-log',
      `pidfile=${join(dir, 'turnserver.pid')}`,
      '',
    ].join('\n'),
  );
  const child = spawnCoturn({ secret, configFile });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForTcp(port, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  let closed: Promise<void> | undefined;
  return {
    port,
    output: () => output,
    close: () =>
      (closed ??= (async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
