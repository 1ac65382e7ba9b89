import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import pg from 'pg';
import type { FileInfo, JoinResult } from '@parley-rtc/protocol';
import { waitFor } from '@parley-rtc/test-support/poll';
import { request, startServer, type TestServer } from '@parley-rtc/test-support/server';
import { PostgresBlobStore } from '../src/files/PostgresBlobStore.ts';
import { postgresSkipReason, startPostgres, type TestPostgres } from './postgres.ts';

const skip = postgresSkipReason();
const ADMIN_KEY = 'files-pg-admin-key-0123456789';
const MiB = 1024 * 1024;
const LARGE = 20 * MiB;

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/**
 * Files in PostgreSQL (files.store postgres): two app instances on one database stand for two
 * nodes; what one stores the other serves, with Range, streamed in and out in chunk rows.
 */
describe('files in PostgreSQL, readable from every node', { skip }, () => {
  let db: TestPostgres;
  let sql: pg.Pool;
  let nodeA: TestServer;
  let nodeB: TestServer;
  const config = () => ({
    storage: { driver: 'postgres' as const, postgresUrl: db.url },
    files: { store: 'postgres' as const, maxBytes: 32 * MiB },
    adminKey: ADMIN_KEY,
  });
  const join = async (node: TestServer, room: string, name: string) => {
    const res = await request<JoinResult>(await node.connect(), 'join', { room, name });
    if (!res.ok) throw new Error(JSON.stringify(res.error));
    return res.data.session;
  };
  const upload = async (node: TestServer, room: string, session: string, body: BodyInit, name = 'f.bin') => {
    const init: RequestInit & { duplex?: 'half' } = {
      method: 'POST',
      headers: { 'x-parley-session': session, 'content-type': 'application/octet-stream' },
      body,
    };
    if (body instanceof ReadableStream) init.duplex = 'half';
    const res = await fetch(`${node.app.url}/api/rooms/${room}/files?name=${name}`, init);
    return { status: res.status, ...((await res.json()) as { file?: FileInfo; error?: { code: string } }) };
  };
  const download = (node: TestServer, room: string, sha: string, headers: Record<string, string> = {}) =>
    fetch(`${node.app.url}/api/rooms/${room}/files/${sha}`, { headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers } });
  const stagedChunks = async () =>
    Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM file_chunks c JOIN file_uploads u ON u.id = c.blob')).rows[0]!.n);

  before(async () => {
    db = await startPostgres();
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    nodeA = await startServer(config());
    nodeB = await startServer(config());
  });
  after(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await sql?.end();
    await db?.close();
  });

  it('streams a 20 MiB upload into 1 MiB rows as it arrives; another node serves it whole and by Range', async () => {
    const session = await join(nodeA, 'big', 'Alice');
    const pieces = Array.from({ length: LARGE / (256 * 1024) }, () => randomBytes(256 * 1024));
    const whole = Buffer.concat(pieces);
    // The body holds back its second half until rows of the first half are in the database:
    // the upload is written while it arrives, not buffered until it ends.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === pieces.length / 2) await released;
        const piece = pieces[sent++];
        if (piece) controller.enqueue(piece);
        else controller.close();
      },
    });
    const uploading = upload(nodeA, 'big', session, body, 'big.bin');
    await waitFor(async () => (await stagedChunks()) >= 4, 30_000, 'chunk rows of the first half');
    assert.ok(sent <= pieces.length / 2, 'the second half was not sent yet');
    release();
    const up = await uploading;
    assert.equal(up.status, 201, JSON.stringify(up));
    assert.equal(up.file?.sha256, sha256(whole));

    const rows = await sql.query<{ len: number }>(
      'SELECT octet_length(c.data) AS len FROM file_blobs b JOIN file_chunks c ON c.blob = b.blob WHERE b.sha256 = $1 ORDER BY c.idx',
      [sha256(whole)],
    );
    assert.deepEqual(
      rows.rows.map((r) => r.len),
      Array<number>(20).fill(MiB),
      'twenty rows of 1 MiB',
    );
    assert.equal(await stagedChunks(), 0);

    const full = await download(nodeB, 'big', sha256(whole));
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('content-length'), String(LARGE));
    const got = createHash('sha256');
    const reader = full.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) got.update(r.value);
    assert.equal(got.digest('hex'), sha256(whole));

    // Ranges inside a chunk, across a chunk boundary, to the end, and a suffix.
    for (const [header, start, end] of [
      ['bytes=10-19', 10, 19],
      [`bytes=${MiB - 5}-${MiB + 4}`, MiB - 5, MiB + 4],
      [`bytes=${3 * MiB - 1}-${5 * MiB}`, 3 * MiB - 1, 5 * MiB],
      [`bytes=${LARGE - 7}-`, LARGE - 7, LARGE - 1],
      ['bytes=-3', LARGE - 3, LARGE - 1],
    ] as const) {
      const part = await download(nodeB, 'big', sha256(whole), { range: header });
      assert.equal(part.status, 206, header);
      assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${LARGE}`);
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(start, end + 1)), header);
    }
    const beyond = await download(nodeB, 'big', sha256(whole), { range: `bytes=${LARGE}-` });
    assert.equal(beyond.status, 416);
  });

  it('reads a blob back one chunk row at a time', async () => {
    const store = new PostgresBlobStore({ url: db.url, chunkBytes: 64 * 1024, maxConnections: 2 });
    await store.init();
    try {
      const data = randomBytes(300 * 1024);
      const blob = await store.ingest(Readable.from([data]), MiB);
      await store.commit(
        blob,
        async () => undefined,
        async (shas) => new Set(shas),
      );
      const sizes: number[] = [];
      const back: Buffer[] = [];
      for await (const chunk of store.read(blob.sha256)) {
        sizes.push((chunk as Buffer).length);
        back.push(chunk as Buffer);
      }
      assert.deepEqual(sizes, [65536, 65536, 65536, 65536, 45056]);
      assert.ok(Buffer.concat(back).equals(data));
      const range = Buffer.concat(await store.read(blob.sha256, { start: 65530, end: 131080 }).toArray());
      assert.ok(range.equals(data.subarray(65530, 131081)));
      assert.deepEqual(await store.release([blob.sha256], async () => new Set()), [blob.sha256]);
      assert.equal(await store.size(blob.sha256), undefined);
    } finally {
      await store.close();
    }
  });

  it('stores the same content once across nodes, and deleting the last room that has it deletes it', async () => {
    const content = 'the same bytes from two nodes';
    const onA = await join(nodeA, 'dedupe-a', 'Ann');
    const onB = await join(nodeB, 'dedupe-b', 'Ben');
    assert.equal((await upload(nodeA, 'dedupe-a', onA, content)).status, 201);
    assert.equal((await upload(nodeB, 'dedupe-b', onB, content)).status, 201);
    const stored = await sql.query('SELECT 1 FROM file_blobs WHERE sha256 = $1', [sha256(content)]);
    assert.equal(stored.rowCount, 1);
    assert.equal(await (await download(nodeA, 'dedupe-b', sha256(content))).text(), content);

    const del = (node: TestServer, room: string) =>
      fetch(`${node.app.url}/api/rooms/${room}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(((await (await del(nodeA, 'dedupe-a')).json()) as { filesDeleted: number }).filesDeleted, 0, 'room dedupe-b still has it');
    assert.equal(((await (await del(nodeB, 'dedupe-b')).json()) as { filesDeleted: number }).filesDeleted, 1);
    assert.equal((await sql.query('SELECT 1 FROM file_blobs WHERE sha256 = $1', [sha256(content)])).rowCount, 0);
    assert.equal(
      (await sql.query('SELECT 1 FROM file_chunks c LEFT JOIN file_blobs b ON b.blob = c.blob WHERE b.blob IS NULL')).rowCount,
      0,
    );
  });

  it('an oversized upload leaves no rows behind', async () => {
    const session = await join(nodeA, 'too-big', 'Tom');
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 40) controller.enqueue(randomBytes(MiB));
        else controller.close();
      },
    });
    const res = await upload(nodeA, 'too-big', session, body).catch(() => ({ status: 0, error: undefined }));
    assert.ok(res.status === 413 || res.status === 0, `413 or a closed connection, got ${res.status}`);
    await waitFor(async () => (await stagedChunks()) === 0, 10_000, 'the staged rows to go');
    assert.equal((await sql.query('SELECT 1 FROM file_uploads')).rowCount, 0);
  });

  it('a node starting up removes uploads a crashed node left half-written', async () => {
    const id = '00000000-0000-4000-8000-000000000001';
    await sql.query('INSERT INTO file_uploads (id, touched_at) VALUES ($1, $2)', [id, Date.now() - 2 * 3_600_000]);
    await sql.query('INSERT INTO file_chunks (blob, idx, data) VALUES ($1, 0, $2)', [id, randomBytes(1000)]);
    const nodeC = await startServer(config());
    try {
      assert.equal((await sql.query('SELECT 1 FROM file_chunks WHERE blob = $1', [id])).rowCount, 0);
      assert.equal((await sql.query('SELECT 1 FROM file_uploads WHERE id = $1', [id])).rowCount, 0);
    } finally {
      await nodeC.close();
    }
  });
});
