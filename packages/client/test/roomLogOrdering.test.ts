import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LogEntry } from '@parley-rtc/protocol';
import { RoomLog } from '../src/RoomLog.ts';

const chat = (seq: number, text = `m${seq}`): LogEntry => ({
  kind: 'chat',
  seq,
  ts: 1_700_000_000_000 + seq,
  from: { id: 'p1', name: 'Alice' },
  text,
});
const seqs = (log: RoomLog) => log.entries.map((e) => e.seq);

describe('RoomLog', () => {
  it('keeps entries ordered by seq whatever the arrival order', () => {
    const log = new RoomLog();
    log.add([chat(3), chat(1)]);
    log.add([chat(2), chat(5), chat(4)]);
    assert.deepEqual(seqs(log), [1, 2, 3, 4, 5]);
    assert.equal(log.lastSeq, 5);
  });

  it('drops duplicates and reports only the new entries', () => {
    const log = new RoomLog();
    assert.deepEqual(
      log.add([chat(1), chat(2)]).map((e) => e.seq),
      [1, 2],
    );
    assert.deepEqual(
      log.add([chat(2), chat(3), chat(3)]).map((e) => e.seq),
      [3],
    );
    assert.deepEqual(seqs(log), [1, 2, 3]);
  });

  it('merges a join catch-up that overlaps live events', () => {
    const log = new RoomLog();
    // A live chat_message (seq 7) overtakes the join ack that also carries it.
    log.add([chat(7)]);
    const fresh = log.applyJoin({ entries: [chat(5), chat(6), chat(7)], lastSeq: 7, truncated: false });
    assert.deepEqual(
      fresh.map((e) => e.seq),
      [5, 6],
    );
    assert.deepEqual(seqs(log), [5, 6, 7]);
    assert.equal(log.lastSeq, 7);
    assert.equal(log.truncated, false);
  });

  it('takes lastSeq from the join ack even without entries, for the next rejoin', () => {
    const log = new RoomLog();
    log.applyJoin({ entries: [], lastSeq: 42, truncated: true });
    assert.equal(log.lastSeq, 42);
    assert.equal(log.truncated, true);
    // A rejoin replay after 42 simply appends.
    log.applyJoin({ entries: [chat(43)], lastSeq: 43, truncated: false });
    assert.deepEqual(seqs(log), [43]);
    assert.equal(log.lastSeq, 43);
  });

  it('never lowers lastSeq', () => {
    const log = new RoomLog();
    log.add([chat(10)]);
    log.applyJoin({ entries: [], lastSeq: 3, truncated: false });
    assert.equal(log.lastSeq, 10);
  });

  it('evicts the oldest entries beyond its capacity and ignores older arrivals once full', () => {
    const log = new RoomLog(3);
    log.add([chat(1), chat(2), chat(3), chat(4)]);
    assert.deepEqual(seqs(log), [2, 3, 4]);
    log.add([chat(1)]);
    assert.deepEqual(seqs(log), [2, 3, 4]);
    log.add([chat(5)]);
    assert.deepEqual(seqs(log), [3, 4, 5]);
  });

  it('clear() forgets everything', () => {
    const log = new RoomLog();
    log.add([chat(1)]);
    log.clear();
    assert.equal(log.size, 0);
    assert.equal(log.lastSeq, 0);
    assert.deepEqual(log.add([chat(1)]).length, 1);
  });

  it('property: any interleaving of batches yields the sorted set of distinct seqs', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 12 }), { maxLength: 10 }), (batches) => {
        const log = new RoomLog();
        let reported = 0;
        for (const batch of batches) reported += log.add(batch.map((s) => chat(s))).length;
        const expected = [...new Set(batches.flat())].sort((a, b) => a - b);
        assert.deepEqual(seqs(log), expected);
        assert.equal(reported, expected.length);
        assert.equal(log.lastSeq, expected.at(-1) ?? 0);
      }),
      { seed: 1, numRuns: 200 },
    );
  });
});
