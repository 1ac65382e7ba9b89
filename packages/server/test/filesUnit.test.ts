import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ParleyError } from '@parley-rtc/protocol';
import { parseRange } from '../src/files/range.ts';
import { contentDisposition, fileNameSchema, mimeTypeSchema } from '../src/files/fileName.ts';
import { fileStoreKind } from '../src/files/openBlobStore.ts';
import { DiskBlobStore } from '../src/files/DiskBlobStore.ts';
import { parseConfig } from '../src/config.ts';

describe('parseRange', () => {
  it('parses the three single-range forms and clamps the end', () => {
    assert.equal(parseRange(undefined, 100), undefined);
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-5', 100), { start: 95, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=50-5000', 100), { start: 50, end: 99 });
  });
  it('throws RANGE_NOT_SATISFIABLE for malformed, multiple and out-of-file ranges', () => {
    for (const bad of ['bytes=100-', 'bytes=5-1', 'bytes=-0', 'bytes=-', 'bytes=0-1,3-4', 'bits=0-1', 'bytes=a-b', 'bytes=1e3-']) {
      assert.throws(
        () => parseRange(bad, 100),
        (e) => e instanceof ParleyError && e.code === 'RANGE_NOT_SATISFIABLE',
        bad,
      );
    }
    assert.throws(() => parseRange('bytes=0-', 0), ParleyError, 'nothing is satisfiable in an empty file');
  });
});

describe('file names', () => {
  it('accepts ordinary names, trimmed and NFC-normalized', () => {
    assert.equal(fileNameSchema.parse('  report.pdf '), 'report.pdf');
    assert.equal(fileNameSchema.parse('Cafe\u0301.txt'), 'Café.txt');
    assert.equal(fileNameSchema.parse('.hidden'), '.hidden');
  });
  it('rejects path-like, invisible and oversized names', () => {
    for (const bad of ['', ' ', '.', '..', '../x', 'a/b', 'a\\b', 'a\u0000b', 'tab\there', 'x\u202e', 'é'.repeat(200)]) {
      assert.equal(fileNameSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
  it('builds a safe Content-Disposition with an RFC 8187 name', () => {
    assert.equal(contentDisposition('a.txt'), `attachment; filename="a.txt"; filename*=UTF-8''a.txt`);
    assert.equal(contentDisposition('"x" 100%.txt'), `attachment; filename="_x_ 100_.txt"; filename*=UTF-8''%22x%22%20100%25.txt`);
  });
  it('normalizes media types and refuses junk', () => {
    assert.equal(mimeTypeSchema.parse('Text/Plain; charset=UTF-8'), 'text/plain');
    assert.equal(mimeTypeSchema.safeParse('text').success, false);
    assert.equal(mimeTypeSchema.safeParse('a/b/c').success, false);
  });
});

describe('where files are stored (files.store)', () => {
  const pg = { storage: { driver: 'postgres' as const, postgresUrl: 'postgres://db/parley' } };
  const redis = { redis: { url: 'redis://127.0.0.1:6379' } };
  it('auto: a directory on one node, PostgreSQL in cluster mode unless files.dir names a shared directory', () => {
    assert.equal(fileStoreKind(parseConfig({})), 'disk');
    assert.equal(fileStoreKind(parseConfig({ ...pg })), 'disk', 'a single node with PostgreSQL keeps its files where they were');
    assert.equal(fileStoreKind(parseConfig({ ...pg, ...redis })), 'postgres');
    assert.equal(fileStoreKind(parseConfig({ ...pg, ...redis, files: { dir: '/mnt/shared/parley-files' } })), 'disk');
  });
  it('refuses what other nodes could not read, or a database that is not there', () => {
    assert.throws(
      () => fileStoreKind(parseConfig({ ...pg, ...redis, files: { store: 'disk' } })),
      /files\.dir to a directory every node shares/,
    );
    assert.throws(() => fileStoreKind(parseConfig({ files: { store: 'postgres' } })), /set storage\.driver to postgres/);
    assert.equal(fileStoreKind(parseConfig({ ...pg, files: { store: 'postgres' } })), 'postgres');
  });
});

describe('a blob directory shared by several nodes', () => {
  it('cleans only temp files and unreferenced blobs untouched for the grace period', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-shared-files-'));
    try {
      const longAgo = new Date(Date.now() - 2 * 3_600_000);
      mkdirSync(join(dir, 'tmp'), { recursive: true });
      writeFileSync(join(dir, 'tmp', 'fresh.part'), 'another node is writing this');
      writeFileSync(join(dir, 'tmp', 'stale.part'), 'a crashed node left this');
      utimesSync(join(dir, 'tmp', 'stale.part'), longAgo, longAgo);
      const store = new DiskBlobStore(dir, { shared: true, graceMs: 3_600_000 });
      await store.init();
      assert.deepEqual(readdirSync(join(dir, 'tmp')), ['fresh.part']);

      const nobody = async () => new Set<string>();
      const put = async (text: string) => {
        const blob = await store.ingest(Readable.from([Buffer.from(text)]), 1024);
        await store.commit(
          blob,
          async () => undefined,
          async (shas) => new Set(shas),
        );
        return blob.sha256;
      };
      const recent = await put('just announced on another node');
      const old = await put('unreferenced for hours');
      utimesSync(store.pathOf(old), longAgo, longAgo);
      assert.deepEqual(await store.sweep(nobody), [old]);
      assert.deepEqual(await store.list(), [recent]);
      // A private directory is this node's alone: everything unreferenced goes.
      const alone = new DiskBlobStore(dir);
      assert.deepEqual(await alone.sweep(nobody), [recent]);
      await Promise.all([store.close(), alone.close()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
