/**
 * Debian's nginx running the shipped deploy/nginx/parley.conf in a temp dir, for tests: the lines
 * the file marks CHANGE get loopback ports, a throwaway self-signed certificate and the test
 * server's address; every location block is the shipped one. Follows test/coturn.ts: a free
 * port, a temp dir, stopped by its PID.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@parley-rtc/test-support/coturn';
import { tcpAccepts } from '@parley-rtc/test-support/tcp';

export const NGINX_BIN = '/usr/sbin/nginx';
export const SHIPPED_NGINX_CONF = new URL('../../../deploy/nginx/parley.conf', import.meta.url);

export interface Nginx {
  /** https://127.0.0.1:PORT: the shipped TLS server block. */
  httpsUrl: string;
  /** http://127.0.0.1:PORT: the shipped redirect server block. */
  httpUrl: string;
  /** PEM of the self-signed certificate nginx serves (for `ca`). */
  ca: string;
  pid: number;
  /** The error log so far (for assertion messages). */
  errorLog(): string;
  close(): Promise<void>;
}

/** Replaces `from` in `text`, which must occur exactly `times` times (so a changed file fails loudly). */
function substitute(text: string, from: string, to: string, times = 1): string {
  const found = text.split(from).length - 1;
  if (found !== times) {
    throw new Error(
      `deploy/nginx/parley.conf: expected ${times}× "${from}", found ${found}; update packages/server/test/nginx.ts with the file`,
    );
  }
  return text.split(from).join(to);
}

/** The shipped site file with the CHANGE lines pointed at this test's ports, certificate and upstream. */
export function siteConfig(
  shipped: string,
  s: { upstream: string; httpPort: number; httpsPort: number; cert: string; key: string },
): string {
  let conf = shipped;
  conf = substitute(conf, 'server 127.0.0.1:8080;', `server ${s.upstream};`);
  conf = substitute(conf, 'listen 80;', `listen 127.0.0.1:${s.httpPort};`);
  conf = substitute(conf, 'listen [::]:80;', '');
  conf = substitute(conf, 'listen 443 ssl http2;', `listen 127.0.0.1:${s.httpsPort} ssl http2;`);
  conf = substitute(conf, 'listen [::]:443 ssl http2;', '');
  conf = substitute(conf, '/etc/letsencrypt/live/call.example.com/fullchain.pem', s.cert);
  conf = substitute(conf, '/etc/letsencrypt/live/call.example.com/privkey.pem', s.key);
  return conf;
}

async function waitForTcp(port: number, deadline: number, exited: () => boolean): Promise<boolean> {
  for (;;) {
    const ok = await tcpAccepts(port);
    if (ok) return true;
    if (exited() || Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts nginx in front of `upstream` (host:port) with the shipped config; throws if nginx is missing. */
export async function startNginx(upstream: string, timeoutMs = 10_000): Promise<Nginx> {
  if (!existsSync(NGINX_BIN)) throw new Error(`nginx is not installed (${NGINX_BIN}): apt-get install nginx`);
  const dir = mkdtempSync(join(tmpdir(), 'parley-nginx-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const site = siteConfig(readFileSync(SHIPPED_NGINX_CONF, 'utf8'), { upstream, httpPort, httpsPort, cert, key });
  writeFileSync(join(dir, 'parley.conf'), site);
  const errorLogPath = join(dir, 'error.log');
  // As root, nginx's workers drop to an unprivileged user: they must reach the temp paths.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'temp'));
  const temp = (name: string) => join(dir, 'temp', name);
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      asRoot ? 'user nobody nogroup;' : '',
      'worker_processes 1;',
      'daemon off;',
      'master_process on;',
      // SIGQUIT waits for open connections (WebSockets) only this long.
      'worker_shutdown_timeout 3s;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${errorLogPath} warn;`,
      'events { worker_connections 256; }',
      'http {',
      `  access_log ${join(dir, 'access.log')};`,
      `  client_body_temp_path ${temp('body')};`,
      `  proxy_temp_path ${temp('proxy')};`,
      `  fastcgi_temp_path ${temp('fastcgi')};`,
      `  uwsgi_temp_path ${temp('uwsgi')};`,
      `  scgi_temp_path ${temp('scgi')};`,
      `  include ${join(dir, 'parley.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(NGINX_BIN, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', errorLogPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errorLog = () => (existsSync(errorLogPath) ? readFileSync(errorLogPath, 'utf8') : '');
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const listening = await waitForTcp(httpsPort, Date.now() + timeoutMs, gone);
  if (!listening || child.pid === undefined) {
    if (!gone()) child.kill('SIGKILL');
    await exited;
    const log = `${output}${errorLog()}`;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx did not start on 127.0.0.1:${httpsPort}:\n${log}`);
  }
  const pid = child.pid;
  let closed: Promise<void> | undefined;
  return {
    httpsUrl: `https://127.0.0.1:${httpsPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    ca: readFileSync(cert, 'utf8'),
    pid,
    errorLog,
    close: () =>
      (closed ??= (async () => {
        // Graceful stop (open requests finish, WebSockets within worker_shutdown_timeout); a
        // fast stop (SIGTERM) if that has not happened well after it.
        if (!gone()) process.kill(pid, 'SIGQUIT');
        const timer = setTimeout(() => {
          if (!gone()) process.kill(pid, 'SIGTERM');
        }, 10_000);
        await exited;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
