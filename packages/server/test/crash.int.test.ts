import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import type { JoinResult, LogEntry } from '@parley-rtc/protocol';
import { connectSocket, request } from '@parley-rtc/test-support/server';
import { spawnServer } from './serverProcess.ts';
import { postgresSkipReason, startPostgres } from './postgres.ts';
import { waitFor } from '@parley-rtc/test-support/poll';

const connect = connectSocket;

const BACKENDS: Array<{
  name: string;
  skip?: string | undefined;
  setup: () => Promise<{ config: Record<string, unknown>; close(): Promise<void> }>;
}> = [
  { name: 'SQLite', setup: async () => ({ config: {}, close: async () => {} }) },
  {
    name: 'PostgreSQL',
    skip: postgresSkipReason(),
    setup: async () => {
      const pg = await startPostgres();
      return { config: { storage: { driver: 'postgres', postgresUrl: pg.url } }, close: () => pg.close() };
    },
  },
];

describe('crash safety', () => {
  for (const backend of BACKENDS) {
    it(
      `${backend.name}: after SIGKILL mid-traffic, every acked message is present, in order, gap-free`,
      { skip: backend.skip ?? false },
      async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'parley-crash-'));
        const sockets: Socket[] = [];
        const db = await backend.setup();
        try {
          const first = await spawnServer(dataDir, db.config);
          const acked = new Map<number, string>();
          let stop = false;
          const senders = [0, 1, 2].map(async (k) => {
            const socket = await connect(first.url);
            sockets.push(socket);
            const joined = await request<JoinResult>(socket, 'join', { room: 'crash', name: `client${k}` });
            assert.ok(joined.ok);
            let n = 0;
            // Four requests in flight per client, like a chatty client with pipelining.
            const lane = async () => {
              while (!stop) {
                const text = `c${k}-${n++}`;
                try {
                  const res = await request<{ seq: number }>(socket, 'chat_message', { text }, 3000);
                  if (res.ok) {
                    acked.set(res.data.seq, text);
                  }
                } catch {
                  return; // the server died with this request in flight
                }
              }
            };
            await Promise.all([lane(), lane(), lane(), lane()]);
          });
          await waitFor(() => acked.size >= 600, 30_000, '600 acked messages');
          await first.kill();
          stop = true;
          await Promise.all(senders);
          for (const s of sockets) s.disconnect();

          const second = await spawnServer(dataDir, db.config);
          try {
            const reader = await connect(second.url);
            sockets.push(reader);
            const res = await request<JoinResult>(reader, 'join', { room: 'crash', name: 'reader', lastSeq: 0 });
            assert.ok(res.ok, JSON.stringify(res));
            const entries: LogEntry[] = res.data.entries;
            assert.equal(res.data.truncated, false);
            const maxAcked = Math.max(...acked.keys());
            assert.ok(entries.length >= maxAcked, `stored ${entries.length}, highest acked seq ${maxAcked}`);
            assert.deepEqual(
              entries.map((e) => e.seq),
              Array.from({ length: entries.length }, (_, i) => i + 1),
              'gap-free from 1',
            );
            for (const [seq, text] of acked) {
              const entry = entries[seq - 1];
              assert.equal(entry?.kind === 'chat' ? entry.text : undefined, text, `acked seq ${seq}`);
            }
            // The log keeps working after recovery.
            const next = await request<{ seq: number }>(reader, 'chat_message', { text: 'after recovery' });
            assert.ok(next.ok);
            assert.equal(next.data.seq, entries.length + 1);
          } finally {
            await second.kill();
          }
        } finally {
          for (const s of sockets) s.disconnect();
          rmSync(dataDir, { recursive: true, force: true });
          await db.close();
        }
      },
    );
  }
});
