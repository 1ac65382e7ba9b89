import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** Rate limits high enough that load tests measure the server, not the limiter. */
export const NO_RATE_LIMITS = {
  eventsPerSec: 1e9,
  eventBurst: 1e9,
  connectionsPerMin: 1e9,
  connectionBurst: 1e9,
  maxConnectionsPerIp: 100_000,
  httpPerSec: 1e9,
  httpBurst: 1e9,
};

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit signal/code once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL (no shutdown at all); idempotent. */
  kill(): Promise<void>;
}

const listeningLine = z.object({ msg: z.literal('parley listening'), url: z.string().url() });

/**
 * Runs `parley serve` as a child process (`node --import tsx src/cli.ts`) on port 0 with the
 * given data dir and extra config, and resolves once its log says where it listens. `node` runs
 * it on another Node binary (test/otherNode.ts).
 */
export async function spawnServer(
  dataDir: string,
  config: Record<string, unknown> = {},
  timeoutMs = 30_000,
  node = process.execPath,
): Promise<ServerProcess> {
  const configFile = join(dataDir, 'test-config.json');
  writeFileSync(
    configFile,
    JSON.stringify({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'info', rateLimits: NO_RATE_LIMITS, ...config }),
  );
  return spawnListening(node, ['--import', 'tsx', cli, 'serve', '--config', configFile], { cwd: repoRoot }, timeoutMs);
}

/**
 * Starts any command that runs a Parley server logging JSON to stdout (the installed `parley`
 * binary, a container's entry point) and resolves once its `parley listening` line names the URL.
 */
export async function spawnListening(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
  timeoutMs = 30_000,
): Promise<ServerProcess> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`server did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('exit', (code) => fail(new Error(`server exited (${code}) before listening: ${stderr}`)));
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          continue;
        }
        const parsed = listeningLine.safeParse(json);
        if (parsed.success) {
          clearTimeout(timer);
          resolve(parsed.data.url);
        }
      }
    });
  });
  child.stdout?.resume();
  return {
    url,
    child,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
