import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError, type FileInfo, type LogEntry } from '@parley-rtc/protocol';
import type { LogStore, NewEntry } from '../src/roomlog/LogStore.ts';
import { waitFor } from '@parley-rtc/test-support/poll';

/** A fresh, empty store per test; `reopen` closes it and opens the same data again. */
export interface StoreHandle {
  store: LogStore;
  reopen(): Promise<LogStore>;
  /** Closes whatever is open and deletes the data. */
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreHandle>;

const alice = { id: 'peer-a', name: 'Alice' };
const bob = { id: 'peer-b', name: 'Bob' };
const chat = (text: string, from = alice): NewEntry => ({ kind: 'chat', from, text });
const fileInfo = (sha: string, size: number, name = 'f.bin'): FileInfo => ({
  id: `id-${sha.slice(0, 6)}-${size}`,
  name,
  size,
  type: 'application/octet-stream',
  sha256: sha,
});
const fileEntry = (info: FileInfo): NewEntry => ({ kind: 'file', from: alice, file: info });
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const SHA_C = 'c'.repeat(64);

/**
 * The behaviour every LogStore backend must have. Run by one test file per backend, against a
 * real database.
 */
export function describeLogStore(name: string, factory: StoreFactory, options: { skip?: string | undefined } = {}): void {
  describe(`LogStore behaviour: ${name}`, { skip: options.skip ?? false }, () => {
    let handle: StoreHandle | undefined;
    const open = async () => {
      handle = await factory();
      return handle;
    };
    afterEach(async () => {
      await handle?.cleanup();
      handle = undefined;
    });

    it('assigns gap-free per-room sequence numbers to concurrent appends, in call order', async () => {
      const { store } = await open();
      const rooms = ['r1', 'r2', 'r3'];
      const results = await Promise.all(Array.from({ length: 600 }, (_, i) => store.append(rooms[i % 3]!, chat(`m${i}`))));
      for (const [k, room] of rooms.entries()) {
        const mine = results.filter((_, i) => i % 3 === k);
        assert.deepEqual(
          mine.map((e) => e.seq),
          Array.from({ length: 200 }, (_, i) => i + 1),
          room,
        );
        assert.deepEqual(
          mine.map((e) => (e.kind === 'chat' ? e.text : '')),
          Array.from({ length: 200 }, (_, i) => `m${i * 3 + k}`),
        );
        const stored = await store.range(room, { after: 0, limit: 1000 });
        assert.deepEqual(stored, mine);
        assert.equal(await store.lastSeq(room), 200);
      }
      // Appends spread over several turns of the event loop keep the order too.
      const more: LogEntry[] = [];
      for (let i = 0; i < 20; i++) more.push(await store.append('r1', chat(`late${i}`)));
      assert.deepEqual(
        more.map((e) => e.seq),
        Array.from({ length: 20 }, (_, i) => 201 + i),
      );
    });

    it('answers range queries: after, before, both, newest-by-limit, unknown room', async () => {
      const { store } = await open();
      for (let i = 1; i <= 30; i++) await store.append('q', chat(`t${i}`));
      const seqs = (es: LogEntry[]) => es.map((e) => e.seq);
      assert.deepEqual(seqs(await store.range('q', { after: 25, limit: 100 })), [26, 27, 28, 29, 30]);
      assert.deepEqual(seqs(await store.range('q', { after: 10, limit: 3 })), [11, 12, 13]);
      assert.deepEqual(seqs(await store.range('q', { before: 4, limit: 100 })), [1, 2, 3]);
      assert.deepEqual(seqs(await store.range('q', { before: 20, limit: 3 })), [17, 18, 19]);
      assert.deepEqual(seqs(await store.range('q', { after: 5, before: 9, limit: 100 })), [6, 7, 8]);
      assert.deepEqual(seqs(await store.range('q', { limit: 2 })), [29, 30]);
      assert.deepEqual(await store.range('nope', { limit: 10 }), []);
      assert.equal(await store.lastSeq('nope'), 0);
    });

    it('round-trips chat, event and file entries exactly', async () => {
      const { store } = await open();
      const text = 'héllo 👋 \u0000 "quotes" \\ \n<script>';
      const body = { nested: [1, 2.5, null, true, 'x'], deep: { a: { b: 'ünï' } }, empty: {} };
      const info = fileInfo(SHA_A, 12, 'résumé (final).pdf');
      const a = await store.append('rt', chat(text, bob));
      const b = await store.append('rt', { kind: 'event', from: alice, type: 'hand.raise', body });
      const c = await store.append('rt', fileEntry(info));
      assert.equal(a.kind === 'chat' && a.text, text);
      assert.deepEqual(b.kind === 'event' && b.body, body);
      assert.deepEqual(c.kind === 'file' && c.file, info);
      assert.deepEqual(a.from, bob);
      assert.deepEqual(await store.range('rt', { after: 0, limit: 10 }), [a, b, c]);
      assert.ok(Math.abs(a.ts - Date.now()) < 60_000);
    });

    it('keeps statistics: entries, UTF-8 bytes, participants seen, files', async () => {
      const { store } = await open();
      assert.equal(await store.stats('s'), undefined);
      await store.noteParticipant('s', 'p1', 'Alice');
      await store.noteParticipant('s', 'p2', 'Alice');
      await store.noteParticipant('s', 'p3', 'Bob');
      await store.append('s', chat('é'));
      await store.append('s', fileEntry(fileInfo(SHA_A, 1000)));
      const stats = await store.stats('s');
      assert.ok(stats);
      assert.equal(stats.room, 's');
      assert.equal(stats.messages, 2);
      assert.equal(stats.lastSeq, 2);
      assert.equal(stats.participantsSeen, 2);
      assert.equal(stats.files, 1);
      assert.equal(stats.fileBytes, 1000);
      const payloadBytes =
        Buffer.byteLength(JSON.stringify({ text: 'é' })) + Buffer.byteLength(JSON.stringify({ file: fileInfo(SHA_A, 1000) }));
      assert.equal(stats.bytes, payloadBytes);
      assert.ok(stats.createdAt <= stats.lastActivityAt);
      assert.deepEqual(await store.listRooms(), ['s']);
    });

    it('keeps entries and continues the sequence after close and reopen', async () => {
      const h = await open();
      for (let i = 0; i < 5; i++) await h.store.append('d', chat(`x${i}`));
      const pending = h.store.append('d', chat('in flight at close'));
      await h.store.close();
      assert.equal((await pending).seq, 6, 'close flushes appends queued before it');
      await h.store.close(); // idempotent
      await assert.rejects(h.store.append('d', chat('after close')), (e) => e instanceof ParleyError && e.code === 'SHUTTING_DOWN');
      const store = await h.reopen();
      assert.equal(await store.lastSeq('d'), 6);
      assert.equal((await store.append('d', chat('again'))).seq, 7);
      assert.equal((await store.range('d', { after: 0, limit: 10 })).length, 7);
    });

    it('tracks file references per room and releases them when a room is deleted', async () => {
      const { store } = await open();
      await store.append('f1', fileEntry(fileInfo(SHA_A, 10, 'old.txt')));
      await store.append('f1', chat('between'));
      await store.append('f1', fileEntry(fileInfo(SHA_A, 10, 'new.txt')));
      await store.append('f1', fileEntry(fileInfo(SHA_B, 20)));
      await store.append('f2', fileEntry(fileInfo(SHA_A, 10, 'other-room.txt')));
      const found = await store.findFile('f1', SHA_A);
      assert.equal(found?.seq, 3);
      assert.equal(found?.file.name, 'new.txt');
      assert.equal(await store.findFile('f1', SHA_C), undefined);
      assert.equal(await store.findFile('f3', SHA_A), undefined);
      assert.deepEqual(await store.referencedFiles([SHA_A, SHA_B, SHA_C]), new Set([SHA_A, SHA_B]));

      const removed = await store.deleteRoom('f1');
      assert.ok(removed);
      assert.equal(removed.entries, 4);
      assert.deepEqual(new Set(removed.releasedFiles), new Set([SHA_A, SHA_B]));
      assert.deepEqual(await store.referencedFiles([SHA_A, SHA_B]), new Set([SHA_A]), 'f2 still refers to A');
      assert.equal(await store.stats('f1'), undefined);
      assert.deepEqual(await store.range('f1', { limit: 10 }), []);
      assert.equal(await store.deleteRoom('f1'), undefined);
      assert.deepEqual(await store.listRooms(), ['f2']);
      // A deleted room starts again from 1.
      assert.equal((await store.append('f1', chat('reborn'))).seq, 1);
    });

    it('prunes by age, keeps lastSeq, and reports released files', async () => {
      const { store } = await open();
      for (let i = 0; i < 4; i++) await store.append('age', chat(`old${i}`));
      await store.append('age', fileEntry(fileInfo(SHA_C, 5)));
      const cut = (await store.range('age', { limit: 1 }))[0]!.ts + 1;
      await waitFor(() => Date.now() > cut, 2000, 'the clock to move');
      for (let i = 0; i < 3; i++) await store.append('age', chat(`new${i}`));
      const result = await store.prune('age', { beforeTs: cut });
      assert.equal(result.entries, 5);
      assert.deepEqual(result.releasedFiles, [SHA_C]);
      assert.deepEqual(
        (await store.range('age', { after: 0, limit: 10 })).map((e) => e.seq),
        [6, 7, 8],
      );
      assert.equal(await store.lastSeq('age'), 8);
      const stats = await store.stats('age');
      assert.equal(stats?.messages, 3);
      assert.equal(stats?.files, 0);
      assert.equal(stats?.bytes, 3 * Buffer.byteLength(JSON.stringify({ text: 'new0' })));
      assert.equal((await store.append('age', chat('next'))).seq, 9);
      assert.deepEqual(await store.prune('age', { beforeTs: cut }), { entries: 0, releasedFiles: [] });
      assert.deepEqual(await store.prune('unknown-room', { beforeTs: Date.now() }), { entries: 0, releasedFiles: [] });
    });

    it('prunes the oldest entries until payload plus file bytes fit maxBytes', async () => {
      const { store } = await open();
      const one = Buffer.byteLength(JSON.stringify({ text: 'xxxxxxxxxx' }));
      for (let i = 0; i < 10; i++) await store.append('size', chat('xxxxxxxxxx'));
      assert.equal((await store.prune('size', { maxBytes: one * 4 })).entries, 6);
      assert.deepEqual(
        (await store.range('size', { after: 0, limit: 20 })).map((e) => e.seq),
        [7, 8, 9, 10],
      );
      assert.equal((await store.stats('size'))?.bytes, one * 4);
      // A big file counts with its size: it pushes out everything older.
      await store.append('size', fileEntry(fileInfo(SHA_B, 10_000)));
      await store.append('size', chat('xxxxxxxxxx'));
      const r = await store.prune('size', { maxBytes: 10_000 });
      assert.equal(r.entries, 5, 'the four chats and the file entry itself exceed the budget');
      assert.deepEqual(r.releasedFiles, [SHA_B]);
      assert.deepEqual(
        (await store.range('size', { after: 0, limit: 20 })).map((e) => e.seq),
        [12],
      );
    });
  });
}
