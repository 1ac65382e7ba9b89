/**
 * The deploy kit's essentials, read from the shipped files: the systemd unit runs the installed
 * `parley serve` as an unprivileged user that may write its data directory, and the nginx config
 * upgrades /socket.io/ to WebSocket and tells Parley who the client is. (nginx.int.test.ts runs
 * the nginx config for real.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { parseConfig } from '../src/config.ts';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

// ---- systemd ------------------------------------------------------------------------------

type Unit = Map<string, Array<[string, string]>>;

/** systemd's INI dialect: [Section], Key=Value (repeatable), # and ; comments, \ continuations. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Array<[string, string]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = [];
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(section && eq > 0, `not a Key=Value line inside a section: ${line}`);
    section.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** Every value of `key` in `section`, in order (an empty assignment resets a list, as in systemd). */
function all(unit: Unit, section: string, key: string): string[] {
  const out: string[] = [];
  for (const [k, v] of unit.get(section) ?? []) {
    if (k !== key) continue;
    if (v === '') out.length = 0;
    else out.push(v);
  }
  return out;
}

/** The effective (last) value of a single-valued key. */
function one(unit: Unit, section: string, key: string): string | undefined {
  return all(unit, section, key).at(-1);
}

function seconds(value: string): number {
  const m = /^(\d+)\s*(s|sec|min|m)?$/.exec(value);
  assert.ok(m, `not a time span: ${value}`);
  return Number(m[1]) * (m[2] === 'min' || m[2] === 'm' ? 60 : 1);
}

describe('deploy/systemd/parley.service', () => {
  const unit = parseUnit(read('deploy/systemd/parley.service'));
  const serverPackage = JSON.parse(read('packages/server/package.json')) as { name: string; bin: Record<string, string> };

  it('runs the installed package’s parley binary: node …/@parley-rtc/server/dist/cli.js serve --config FILE', () => {
    const argv = (one(unit, 'Service', 'ExecStart') ?? '').split(/\s+/);
    assert.match(argv[0] ?? '', /^\/\S*\/node$/, 'an absolute path to node');
    const bin = posix.normalize(serverPackage.bin['parley'] ?? 'missing');
    assert.ok(argv[1]?.startsWith('/'), 'an absolute path to the CLI');
    assert.ok(argv[1]?.endsWith(`/node_modules/${serverPackage.name}/${bin}`), `${argv[1]} is ${serverPackage.name}'s ${bin}`);
    assert.equal(argv[2], 'serve');
    const config = argv.indexOf('--config');
    assert.ok(config > 2 && argv[config + 1]?.startsWith('/'), 'an absolute --config file');
  });

  it('runs as a dedicated user, with its environment file', () => {
    const user = one(unit, 'Service', 'User');
    assert.ok(user, 'User= is set');
    assert.notEqual(user, 'root');
    assert.notEqual(user, '0');
    assert.ok(one(unit, 'Service', 'Group'), 'Group= is set');
    assert.deepEqual(all(unit, 'Service', 'EnvironmentFile'), ['/etc/parley/parley.env']);
    assert.equal(all(unit, 'Service', 'AmbientCapabilities').length, 0, 'no capabilities granted');
  });

  it('stops with the signal `parley serve` drains on, and waits long enough for it', () => {
    assert.equal(one(unit, 'Service', 'KillSignal'), 'SIGTERM');
    assert.match(read('packages/server/src/cli/serve.ts'), /process\.on\('SIGTERM'/, 'serve handles SIGTERM');
    assert.ok(seconds(one(unit, 'Service', 'TimeoutStopSec') ?? '0') >= 15, 'TimeoutStopSec leaves time for the drain');
    assert.equal(one(unit, 'Service', 'Restart'), 'on-failure');
  });

  it('is hardened, and the one writable path covers the data directory', () => {
    assert.equal(one(unit, 'Service', 'NoNewPrivileges'), 'yes');
    assert.equal(one(unit, 'Service', 'ProtectSystem'), 'strict');
    assert.equal(one(unit, 'Service', 'PrivateTmp'), 'yes');
    const env = new Map(
      all(unit, 'Service', 'Environment')
        .flatMap((e) => e.split(/\s+/))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const workDir = one(unit, 'Service', 'WorkingDirectory') ?? '/';
    const dataDir = posix.resolve(workDir, env.get('PARLEY_DATA_DIR') ?? parseConfig({}).dataDir);
    const writable = all(unit, 'Service', 'ReadWritePaths')
      .flatMap((v) => v.split(/\s+/))
      .map((p) => p.replace(/^[-+]/, ''));
    assert.ok(
      writable.some((p) => dataDir === p || dataDir.startsWith(`${p.replace(/\/$/, '')}/`)),
      `ReadWritePaths (${writable.join(' ')}) covers the data directory ${dataDir}`,
    );
  });
});

// ---- nginx --------------------------------------------------------------------------------

interface Directive {
  name: string;
  args: string[];
  block?: Directive[];
}

/** nginx's config syntax: `name args;` and `name args { ... }`, # comments, quoted strings. */
function parseNginx(text: string): Directive[] {
  const tokens: string[] = [];
  for (let i = 0; i < text.length;) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '{' || c === '}' || c === ';') tokens.push(text[i++]!);
    else if (c === '"' || c === "'") {
      let s = '';
      for (i++; i < text.length && text[i] !== c; i++) s += text[i] === '\\' ? text[++i] : text[i];
      i++;
      tokens.push(s);
    } else {
      let s = '';
      while (i < text.length && !/[\s{};]/.test(text[i]!)) s += text[i++];
      tokens.push(s);
    }
  }
  let at = 0;
  const block = (): Directive[] => {
    const out: Directive[] = [];
    while (at < tokens.length && tokens[at] !== '}') {
      const words: string[] = [];
      while (at < tokens.length && !['{', '}', ';'].includes(tokens[at]!)) words.push(tokens[at++]!);
      const end = tokens[at++];
      assert.ok(words.length > 0 && (end === ';' || end === '{'), `nginx syntax near "${words.join(' ')}"`);
      const directive: Directive = { name: words[0]!, args: words.slice(1) };
      if (end === '{') {
        directive.block = block();
        assert.equal(tokens[at++], '}', `unclosed block ${words.join(' ')}`);
      }
      out.push(directive);
    }
    return out;
  };
  const top = block();
  assert.equal(at, tokens.length, 'unbalanced }');
  return top;
}

const named = (block: Directive[] | undefined, name: string) => (block ?? []).filter((d) => d.name === name);

/** nginx's inheritance: a level's own directives of this name, or else the nearest outer level's. */
function inherited(levels: Array<Directive[] | undefined>, name: string): Directive[] {
  for (const level of levels) {
    const own = named(level, name);
    if (own.length > 0) return own;
  }
  return [];
}

function headers(levels: Array<Directive[] | undefined>): Map<string, string> {
  return new Map(inherited(levels, 'proxy_set_header').map((d) => [d.args[0]!.toLowerCase(), d.args[1] ?? '']));
}

function nginxSeconds(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value);
  assert.ok(m, `not an nginx time: ${value}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 's']!;
}

function bytes(value: string): number {
  const m = /^(\d+)([kKmMgG])?$/.exec(value);
  assert.ok(m, `not an nginx size: ${value}`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] ?? ' ').toLowerCase());
}

describe('deploy/nginx/parley.conf', () => {
  const conf = parseNginx(read('deploy/nginx/parley.conf'));
  const servers = named(conf, 'server');
  const tls = servers.find((s) => named(s.block, 'listen').some((l) => l.args.includes('ssl')));
  const plain = servers.find((s) => s !== tls);
  const location = (path: string) => named(tls?.block, 'location').find((l) => l.args.at(-1) === path);

  it('has a TLS server with a certificate, and a plain one that only redirects to HTTPS', () => {
    assert.ok(tls, 'a server that listens with ssl');
    assert.equal(named(tls.block, 'ssl_certificate').length, 1);
    assert.equal(named(tls.block, 'ssl_certificate_key').length, 1);
    assert.ok(plain, 'a plain HTTP server');
    const inPlain = (plain.block ?? []).flatMap((d) => [d, ...(d.block ?? [])]);
    assert.ok(
      inPlain.some((d) => d.name === 'return' && d.args[0] === '301' && d.args[1]?.startsWith('https://')),
      'return 301 https://…',
    );
    assert.ok(!inPlain.some((d) => d.name === 'proxy_pass'), 'nothing proxied over plain HTTP');
  });

  it('upgrades /socket.io/ to WebSocket (HTTP/1.1, Upgrade, Connection) and keeps it open', () => {
    const io = location('/socket.io/');
    assert.ok(io?.block, 'a location /socket.io/');
    const levels = [io.block, tls?.block];
    assert.ok(named(io.block, 'proxy_pass').length === 1, 'proxied');
    assert.equal(inherited(levels, 'proxy_http_version')[0]?.args[0], '1.1');
    const h = headers(levels);
    assert.equal(h.get('upgrade'), '$http_upgrade');
    const connection = h.get('connection');
    if (connection === '$connection_upgrade') {
      const map = named(conf, 'map').find((m) => m.args[0] === '$http_upgrade' && m.args[1] === '$connection_upgrade');
      assert.deepEqual(named(map?.block, 'default')[0]?.args, ['upgrade'], 'map $http_upgrade $connection_upgrade { default upgrade; }');
    } else {
      assert.equal(connection?.toLowerCase(), 'upgrade');
    }
    // Socket.IO pings every 25 s and waits 20 s for the pong: an idle socket must outlive 45 s.
    assert.ok(nginxSeconds(inherited(levels, 'proxy_read_timeout')[0]?.args[0] ?? '60s') > 45);
  });

  it('passes X-Forwarded-For, X-Forwarded-Proto and Host from every proxied location', () => {
    const proxiedLocations = named(tls?.block, 'location').filter((l) => named(l.block, 'proxy_pass').length > 0);
    assert.ok(proxiedLocations.length >= 5, 'socket.io, whip, whep, offer, files, the rest');
    for (const l of proxiedLocations) {
      const h = headers([l.block, tls?.block]);
      const where = `location ${l.args.join(' ')}`;
      assert.equal(h.get('x-forwarded-for'), '$proxy_add_x_forwarded_for', where);
      assert.equal(h.get('x-forwarded-proto'), '$scheme', where);
      assert.equal(h.get('host'), '$host', where);
    }
  });

  it('lets room uploads as large as files.maxBytes through, streamed', () => {
    const files = named(tls?.block, 'location').find((l) => l.args[0] === '~' && new RegExp(l.args[1]!).test('/api/rooms/standup/files'));
    assert.ok(files?.block, 'a location matching /api/rooms/:room/files');
    assert.ok(bytes(named(files.block, 'client_max_body_size')[0]?.args[0] ?? '0') >= parseConfig({}).files.maxBytes);
    assert.equal(named(files.block, 'proxy_request_buffering')[0]?.args[0], 'off');
    for (const path of ['/whip/', '/whep/', '/offer']) assert.ok(location(path), `a location for ${path}`);
  });
});

describe('deploy/nginx/parley-cluster.conf', () => {
  const conf = parseNginx(read('deploy/nginx/parley-cluster.conf'));
  const upstream = (name: string) => named(conf, 'upstream').find((u) => u.args[0] === name);
  const tls = named(conf, 'server').find((s) => named(s.block, 'listen').some((l) => l.args.includes('ssl')));
  const proxiedTo = (path: string) =>
    named(named(tls?.block, 'location').find((l) => l.args.at(-1) === path)?.block, 'proxy_pass')[0]?.args[0];

  it('balances signaling over every node with no sticky sessions', () => {
    const main = upstream('parley');
    assert.ok(main?.block, 'upstream parley');
    assert.ok(named(main.block, 'server').length >= 2, 'several nodes');
    for (const sticky of ['ip_hash', 'hash', 'sticky']) assert.equal(named(main.block, sticky).length, 0, `no ${sticky}`);
    assert.equal(proxiedTo('/socket.io/'), 'http://parley');
  });

  it('sends every request of one WHIP/WHEP stream to one node', () => {
    const media = upstream('parley_media');
    assert.deepEqual(named(media?.block, 'hash')[0]?.args, ['$parley_stream', 'consistent']);
    assert.deepEqual(
      named(media?.block, 'server').map((s) => s.args[0]),
      named(upstream('parley')?.block, 'server').map((s) => s.args[0]),
      'the same nodes',
    );
    assert.equal(proxiedTo('/whip/'), 'http://parley_media');
    assert.equal(proxiedTo('/whep/'), 'http://parley_media');
  });
});
