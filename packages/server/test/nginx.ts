/**
 * Debian's nginx running the shipped deploy/nginx/parley.conf (or, in front of several nodes,
 * deploy/nginx/parley-cluster.conf) in a temp dir, for tests: the lines the file marks CHANGE get
 * loopback ports, a throwaway self-signed certificate and the test servers' addresses; every
 * location block is the shipped one. Follows test/coturn.ts: a free
 * port, a temp dir, stopped by its PID.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { z } from 'zod';
import { wireErrorSchema } from '@parley-rtc/protocol';
import { freePort } from '@parley-rtc/test-support/coturn';
import type { TestSocket } from '@parley-rtc/test-support/server';
import { tcpAccepts } from '@parley-rtc/test-support/tcp';

export const NGINX_BIN = '/usr/sbin/nginx';
export const SHIPPED_NGINX_CONF = new URL('../../../deploy/nginx/parley.conf', import.meta.url);
export const SHIPPED_CLUSTER_NGINX_CONF = new URL('../../../deploy/nginx/parley-cluster.conf', import.meta.url);

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
    throw new Error(`deploy/nginx: expected ${times}× "${from}", found ${found}; update packages/server/test/nginx.ts with the file`);
  }
  return text.split(from).join(to);
}

/** The shipped site file with the CHANGE lines pointed at this test's ports, certificate and upstream. */
export function siteConfig(
  shipped: string,
  s: { upstream: string; httpPort: number; httpsPort: number; cert: string; key: string },
): string {
  return listenAndCertificate(substitute(shipped, 'server 127.0.0.1:8080;', `server ${s.upstream};`), s);
}

/** The three example nodes of deploy/nginx/parley-cluster.conf, in each of its two upstreams. */
const EXAMPLE_NODES = ['10.0.0.11:8080', '10.0.0.12:8080', '10.0.0.13:8080'];

/** The shipped load-balancer file with its example nodes replaced by `upstreams` (host:port each). */
export function clusterSiteConfig(
  shipped: string,
  s: { upstreams: readonly string[]; httpPort: number; httpsPort: number; cert: string; key: string },
): string {
  let conf = shipped;
  const [first, ...rest] = EXAMPLE_NODES;
  const options = ' max_fails=1 fail_timeout=10s;';
  const servers = s.upstreams.map((u) => `server ${u}${options}`).join('\n    ');
  conf = substitute(conf, `server ${first}${options}`, servers, 2);
  for (const node of rest) conf = substitute(conf, `    server ${node}${options}\n`, '', 2);
  return listenAndCertificate(conf, s);
}

function listenAndCertificate(shipped: string, s: { httpPort: number; httpsPort: number; cert: string; key: string }): string {
  let conf = shipped;
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

/**
 * Starts nginx in front of `upstream` (host:port) with the shipped config, or in front of several
 * nodes (an array) with the shipped load-balancer config; throws if nginx is missing.
 */
export async function startNginx(upstream: string | readonly string[], timeoutMs = 10_000): Promise<Nginx> {
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
  const site =
    typeof upstream === 'string'
      ? siteConfig(readFileSync(SHIPPED_NGINX_CONF, 'utf8'), { upstream, httpPort, httpsPort, cert, key })
      : clusterSiteConfig(readFileSync(SHIPPED_CLUSTER_NGINX_CONF, 'utf8'), { upstreams: upstream, httpPort, httpsPort, cert, key });
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

const connectErrorData = z.object({ data: wireErrorSchema });

/**
 * A Socket.IO client (WebSocket only) connecting through nginx from `from` (any 127.0.0.0/8
 * address), optionally with extra handshake headers: its socket once connected (the caller
 * closes it), or the refusal's catalogue code.
 */
export async function connectThrough(
  nginx: Nginx,
  from: string,
  headers: Record<string, string> = {},
): Promise<{ socket: TestSocket } | { refused: string }> {
  const node = { localAddress: from }; // engine.io-client hands this to the ws client (Node only)
  const socket: TestSocket = ioClient(nginx.httpsUrl, {
    ...node,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ca: nginx.ca,
    extraHeaders: headers,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no connect or connect_error from ${from} within 10 s\n${nginx.errorLog()}`));
    }, 10_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({ socket });
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      socket.close();
      const parsed = connectErrorData.safeParse(err);
      // A transport failure (nginx 502, TLS) is not a refusal: fail with what happened.
      if (!parsed.success) reject(new Error(`connect_error from ${from} without a wire error: ${err.message}\n${nginx.errorLog()}`));
      else resolve({ refused: parsed.data.data.code });
    });
  });
}
