import { spawn, type ChildProcess } from 'node:child_process';

export interface ReadyChild {
  child: ChildProcess;
  port: number;
  /** SIGTERM, then wait for the exit (SIGKILL after `killAfterMs`, default 5 s). Idempotent. */
  stop(killAfterMs?: number): Promise<void>;
}

/**
 * Runs `node --import tsx SCRIPT ARGS...` and waits for it to print `READY <port>` on stdout.
 * Bench servers use this contract so the orchestrator never guesses when they are up.
 */
export function spawnReady(script: string, args: string[], label: string, timeoutMs = 30_000): Promise<ReadyChild> {
  return spawnCommandReady(process.execPath, ['--import', 'tsx', script, ...args], label, timeoutMs);
}

/** The same contract for any command (e.g. a Python anchor server). */
export async function spawnCommandReady(command: string, args: string[], label: string, timeoutMs = 30_000): Promise<ReadyChild> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not start in ${timeoutMs} ms`));
    }, timeoutMs);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code} before it was ready`));
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    child,
    port,
    stop: (killAfterMs = 5000) =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        // libdatachannel's cleanup() can hang in a process with hundreds of peers: do not wait forever
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        await exited;
        clearTimeout(timer);
      })()),
  };
}
