import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLogStore } from '../src/roomlog/SqliteLogStore.ts';
import { nextEvent, request, startServer } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';

describe('graceful shutdown', () => {
  it('under load, tells clients, refuses new joins, and loses no acknowledged entry', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-shutdown-'));
    try {
      const server = await startServer({ dataDir });
      const senders = await Promise.all([0, 1, 2].map(() => server.connect()));
      for (const [i, s] of senders.entries()) assert.equal((await request(s, 'join', { room: 'load', name: `s${i}` })).ok, true);
      const acked: number[] = [];
      let stop = false;
      const loops = senders.map(async (s, i) => {
        for (let n = 0; !stop && s.connected; n++) {
          try {
            const res = await request<{ seq: number }>(s, 'chat_message', { text: `s${i}-${n}` }, 2000);
            if (res.ok) acked.push(res.data.seq);
          } catch {
            return; // the ack never came: the server went away mid-request, which is allowed
          }
        }
      });
      await waitFor(() => acked.length >= 200, 20_000, '200 acknowledged messages');
      const ended = nextEvent<{ reason: string }>(senders[0]!, 'session_ended');
      const closing = server.app.close();
      assert.equal((await ended).reason, 'server-shutdown');
      await closing;
      stop = true;
      await Promise.all(loops);
      assert.equal(
        await fetch(`${server.app.url}/readyz`).then(
          () => 'reachable',
          () => 'closed',
        ),
        'closed',
      );

      const store = new SqliteLogStore({ path: join(dataDir, 'parley.db') });
      try {
        const lastSeq = await store.lastSeq('load');
        const entries = await store.range('load', { after: 0, limit: 100_000 });
        assert.deepEqual(
          entries.map((e) => e.seq),
          Array.from({ length: lastSeq }, (_, i) => i + 1),
          'gap-free',
        );
        const stored = new Set(entries.map((e) => e.seq));
        const lost = acked.filter((seq) => !stored.has(seq));
        assert.deepEqual(lost, [], 'every acknowledged entry is stored');
        assert.ok(acked.length >= 200);
      } finally {
        await store.close();
      }
      await server.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
