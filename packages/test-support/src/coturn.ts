import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './poll.ts';
import { tcpAccepts } from './tcp.ts';

/** Debian's coturn (the same binary and override as the server's `parley turn`). */
export const TURNSERVER_BIN = process.env['TURNSERVER_PATH'] ?? '/usr/bin/turnserver';
export const coturnMissing: string | false = existsSync(TURNSERVER_BIN) ? false : `coturn not installed (${TURNSERVER_BIN})`;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/**
 * A throwaway coturn on 127.0.0.1 with `use-auth-secret`. Loopback peers are allowed here only
 * because the test's peers live on loopback; the shipped config denies them.
 */
export async function startCoturn(
  secret: string,
  options: { port?: number } = {},
): Promise<{ port: number; output: () => string; close(): Promise<void> }> {
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
  const child = spawn(TURNSERVER_BIN, ['-c', configFile, `--static-auth-secret=${secret}`], { stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(() => tcpAccepts(port), 10_000, `coturn to listen on ${port}`);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${output}`, { cause: err });
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
