import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FileEntry, FileInfo, JoinResult, LogEntry } from '@parley-rtc/protocol';
import { nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';

const ADMIN_KEY = 'files-admin-key-0123456789';
const MAX = 64 * 1024;

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under `<dataDir>/files`, as paths relative to it. */
function filesOnDisk(server: TestServer): string[] {
  const root = join(server.dataDir, 'files');
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  walk(root, '');
  return out.sort();
}

describe('files: upload, dedupe, download with ranges', () => {
  let server: TestServer;
  type Member = { socket: TestSocket; id: string; session: string };
  let alice: Member;
  let bob: Member;
  let outsider: Member;

  const joinRoom = async (room: string, name: string) => {
    const socket = await server.connect();
    const res = await request<JoinResult>(socket, 'join', { room, name });
    if (!res.ok) throw new Error(JSON.stringify(res.error));
    return { socket, id: res.data.self.id, session: res.data.session };
  };
  const upload = async (
    room: string,
    who: Member | undefined,
    body: BodyInit,
    opts: { name?: string; header?: string; type?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (who) headers['x-parley-session'] = who.session;
    if (opts.type) headers['content-type'] = opts.type;
    if (opts.header !== undefined) headers['x-filename'] = opts.header;
    const q = opts.name !== undefined ? `?name=${encodeURIComponent(opts.name)}` : '';
    const init: RequestInit & { duplex?: 'half' } = { method: 'POST', headers, body };
    if (body instanceof ReadableStream) init.duplex = 'half';
    const res = await fetch(`${server.app.url}/api/rooms/${room}/files${q}`, init);
    const json = (await res.json()) as { file?: FileInfo; entry?: LogEntry; error?: { code: string; message: string } };
    return { status: res.status, ...json };
  };
  const download = (room: string, sha: string, headers: Record<string, string> = {}) =>
    fetch(`${server.app.url}/api/rooms/${room}/files/${sha}`, { headers });

  before(async () => {
    server = await startServer({ files: { maxBytes: MAX }, adminKey: ADMIN_KEY });
    alice = await joinRoom('share', 'Alice');
    bob = await joinRoom('share', 'Bob');
    outsider = await joinRoom('other', 'Olga');
  });
  after(async () => {
    await server.close();
  });

  it('stores the same content once and announces every upload in the room log', async () => {
    const content = 'hello, parley files\n'.repeat(100);
    const announced = nextEvent<FileEntry>(bob.socket, 'room_event');
    const first = await upload('share', alice, content, { name: 'notes.txt', type: 'text/plain; charset=utf-8' });
    assert.equal(first.status, 201, JSON.stringify(first));
    assert.deepEqual(
      { name: first.file?.name, size: first.file?.size, type: first.file?.type, sha256: first.file?.sha256 },
      { name: 'notes.txt', size: content.length, type: 'text/plain', sha256: sha256(content) },
    );
    const live = await announced;
    assert.equal(live.kind, 'file');
    assert.deepEqual(live.file, first.file);
    assert.deepEqual(live.from, { id: alice.id, name: 'Alice' });
    assert.deepEqual(first.entry, live);

    const second = await upload('share', bob, Buffer.from(content), { header: 'copy%20of%20notes.txt' });
    assert.equal(second.status, 201);
    assert.equal(second.file?.sha256, first.file?.sha256);
    assert.equal(second.file?.name, 'copy of notes.txt');
    assert.equal(second.file?.type, 'application/octet-stream');
    assert.ok(second.entry && first.entry && second.entry.seq === first.entry.seq + 1);
    const sha = sha256(content);
    assert.deepEqual(filesOnDisk(server), [`${sha.slice(0, 2)}/${sha}`], 'one blob, no temp files');

    const res = await download('share', sha, { 'x-parley-session': bob.session });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), content);
    assert.equal(res.headers.get('content-length'), String(content.length));
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="copy of notes.txt"/);
  });

  it('serves byte ranges with 206 and refuses bad ones with 416', async () => {
    const data = new Uint8Array(10_000).map((_, i) => i % 251);
    const up = await upload('share', alice, data, { name: 'data.bin' });
    assert.equal(up.status, 201);
    const sha = up.file!.sha256;
    const get = async (range: string) => {
      const res = await download('share', sha, { 'x-parley-session': alice.session, range });
      return { res, body: new Uint8Array(await res.arrayBuffer()) };
    };
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=9990-', 9990, 9999],
      ['bytes=-10', 9990, 9999],
      ['bytes=5000-5000', 5000, 5000],
      ['bytes=9000-20000', 9000, 9999],
    ] as const) {
      const { res, body } = await get(range);
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/10000`, range);
      assert.equal(res.headers.get('content-length'), String(end - start + 1));
      assert.deepEqual(body, data.slice(start, end + 1), range);
    }
    for (const range of ['bytes=10000-', 'bytes=20000-30000', 'bytes=5-2', 'bytes=0-1,5-6', 'items=0-1', 'bytes=-0', 'bytes=abc']) {
      const res = await download('share', sha, { 'x-parley-session': alice.session, range });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get('content-range'), 'bytes */10000', range);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'RANGE_NOT_SATISFIABLE');
    }
  });

  it('refuses uploads over the limit with 413 and leaves no partial file', async () => {
    const before = filesOnDisk(server);
    const big = await upload('share', alice, new Uint8Array(MAX + 1), { name: 'big.bin' });
    assert.equal(big.status, 413);
    assert.equal(big.error?.code, 'PAYLOAD_TOO_LARGE');
    // Without Content-Length (chunked), the limit is enforced while streaming.
    const chunks = 20;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctl) {
        ctl.enqueue(new Uint8Array(8 * 1024).fill(7));
        if (--remaining === 0) ctl.close();
      },
    });
    let remaining = chunks;
    const streamed = await upload('share', alice, stream, { name: 'streamed.bin' });
    assert.equal(streamed.status, 413);
    assert.equal(streamed.error?.code, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(filesOnDisk(server), before);
    // Exactly at the limit is fine.
    const edge = await upload('share', alice, new Uint8Array(MAX).fill(1), { name: 'edge.bin' });
    assert.equal(edge.status, 201);
  });

  it('rejects path tricks and invisible characters in file names, and stores nothing', async () => {
    const res = await fetch(`${server.app.url}/api/rooms/share/messages?limit=500`, { headers: { 'x-parley-session': alice.session } });
    const lastSeq = ((await res.json()) as { lastSeq: number }).lastSeq;
    const before = filesOnDisk(server);
    const bad: Array<{ name?: string; header?: string }> = [
      { name: '../../etc/passwd' },
      { name: 'a/b.txt' },
      { name: '..\\windows\\system.ini' },
      { name: '..' },
      { name: 'nul\u0000byte.txt' },
      { name: 'line\nbreak.txt' },
      { name: 'evil\u202egnp.exe' },
      { name: '   ' },
      { name: 'x'.repeat(300) },
      { header: '%2E%2E%2Fsecret' },
      { header: '%E0%A4%A' },
      {},
    ];
    for (const opts of bad) {
      const r = await upload('share', alice, 'payload', opts);
      assert.equal(r.status, 400, JSON.stringify(opts));
      assert.equal(r.error?.code, 'INVALID_PAYLOAD');
      assert.ok((r.error?.message ?? '').length > 5);
    }
    const badType = await upload('share', alice, 'payload', { name: 'ok.txt', type: 'not a type' });
    assert.equal(badType.status, 415);
    assert.equal(badType.error?.code, 'UNSUPPORTED');
    assert.deepEqual(filesOnDisk(server), before);
    const after = await fetch(`${server.app.url}/api/rooms/share/messages?after=${lastSeq}`, {
      headers: { 'x-parley-session': alice.session },
    });
    assert.deepEqual(((await after.json()) as { entries: unknown[] }).entries, []);
    // Unicode names are fine and come back in RFC 8187 form.
    const ok = await upload('share', alice, 'ü', { name: 'Grüße "2025".txt' });
    assert.equal(ok.status, 201);
    const dl = await download('share', ok.file!.sha256, { 'x-parley-session': alice.session });
    assert.equal(
      dl.headers.get('content-disposition'),
      `attachment; filename="Gr__e _2025_.txt"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%222025%22.txt`,
    );
  });

  it('only lets room members upload and download, and only files of that room', async () => {
    const up = await upload('share', alice, 'members only', { name: 'secret.txt' });
    const sha = up.file!.sha256;
    assert.equal((await upload('share', undefined, 'x', { name: 'a.txt' })).status, 401);
    assert.equal((await upload('share', outsider, 'x', { name: 'a.txt' })).status, 403);
    assert.equal((await download('share', sha)).status, 401);
    assert.equal((await download('share', sha, { 'x-parley-session': outsider.session })).status, 403);
    const otherRoom = await download('other', sha, { 'x-parley-session': outsider.session });
    assert.equal(otherRoom.status, 404, 'the blob exists, but room "other" never had it');
    assert.equal((await download('share', 'f'.repeat(64), { 'x-parley-session': alice.session })).status, 404);
    const bad = await download('share', 'not-a-hash', { 'x-parley-session': alice.session });
    assert.equal(bad.status, 400);
    // Plain links carry the session credential in the query string; a peer id is no credential.
    const link = await fetch(`${server.app.url}/api/rooms/share/files/${sha}?session=${encodeURIComponent(alice.session)}`);
    assert.equal(await link.text(), 'members only');
    assert.equal((await fetch(`${server.app.url}/api/rooms/share/files/${sha}?peer=${alice.id}`)).status, 401);
    assert.equal((await download('share', sha, { 'x-parley-peer': alice.id })).status, 401);
    // Bob cannot upload as Alice by naming her (public) id: he only has his own credential.
    const forged = await upload('share', { ...bob, session: `${alice.id}.${bob.session.split('.').pop()}` }, 'as alice', { name: 'a.txt' });
    assert.equal(forged.status, 401);
  });

  it('deleting a room deletes its files unless another room still refers to them', async () => {
    const shared = 'shared between rooms';
    const only = 'only in the doomed room';
    const doomed = await joinRoom('doomed-files', 'Dora');
    assert.equal((await upload('doomed-files', doomed, shared, { name: 's.txt' })).status, 201);
    assert.equal((await upload('doomed-files', doomed, only, { name: 'o.txt' })).status, 201);
    assert.equal((await upload('other', outsider, shared, { name: 's.txt' })).status, 201);
    const del = await fetch(`${server.app.url}/api/rooms/doomed-files`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    assert.equal(del.status, 200);
    assert.equal(((await del.json()) as { filesDeleted: number }).filesDeleted, 1);
    const disk = filesOnDisk(server).map((p) => p.split('/')[1]);
    assert.ok(disk.includes(sha256(shared)));
    assert.ok(!disk.includes(sha256(only)));
    const still = await download('other', sha256(shared), { 'x-parley-session': outsider.session });
    assert.equal(await still.text(), shared);
  });
});
