/** Audio-level header extensions (RFC 8285 / RFC 6464) and the active-speaker detector. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findExtension, oneByteExtension, readAudioLevel } from '@parley-rtc/rtc/rtp/headerExtension';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { ActiveSpeaker, type SpeakerLevel } from '../../src/sfu/ActiveSpeaker.ts';
import { waitFor } from '@parley-rtc/test-support/poll';

const rtp = (extension?: { profile: number; data: Buffer }): Buffer =>
  writeRtp({
    marker: false,
    payloadType: 111,
    sequenceNumber: 1,
    timestamp: 2,
    ssrc: 3,
    payload: Buffer.from([1, 2, 3]),
    ...(extension ? { extension } : {}),
  });

test('audio level from one-byte and two-byte extension blocks', () => {
  const one = rtp(
    oneByteExtension([
      { id: 2, data: Buffer.from([1, 2]) },
      { id: 5, data: Buffer.from([0x80 | 33]) },
    ]),
  );
  assert.deepEqual(readAudioLevel(one, 5), { level: 33, voice: true });
  assert.deepEqual(findExtension(one, 2), { offset: 17, length: 2 });
  assert.equal(readAudioLevel(one, 7), undefined, 'absent id');
  // two-byte form (0x1000), with a padding byte before the element
  const two = rtp({ profile: 0x1000, data: Buffer.from([0, 9, 1, 42, 0, 0, 0, 0]) });
  assert.deepEqual(readAudioLevel(two, 9), { level: 42, voice: false });
  assert.equal(readAudioLevel(rtp(), 5), undefined, 'no extension at all');
});

test('malformed extension blocks read as absent, never out of bounds', () => {
  const ok = rtp(oneByteExtension([{ id: 5, data: Buffer.from([10]) }]));
  const longer = Buffer.from(ok);
  longer.writeUInt16BE(200, 14); // block length beyond the packet
  assert.equal(readAudioLevel(longer, 5), undefined);
  const element = Buffer.from(ok);
  element[16] = (5 << 4) | 15; // element of 16 bytes in a 4-byte block
  assert.equal(readAudioLevel(element, 5), undefined);
  assert.equal(readAudioLevel(ok.subarray(0, 14), 5), undefined, 'truncated header');
  const stop = Buffer.from(ok);
  stop[16] = 0xf0; // id 15: stop reading
  assert.equal(readAudioLevel(stop, 5), undefined);
});

function changes(detector: ActiveSpeaker): Array<{ active: string | undefined; speakers: string[] }> {
  const out: Array<{ active: string | undefined; speakers: string[] }> = [];
  detector.on('change', (active: SpeakerLevel | undefined, speakers: SpeakerLevel[]) =>
    out.push({ active: active?.producerId, speakers: speakers.map((s) => s.producerId) }),
  );
  return out;
}

test('the loudest speaker becomes active; a slightly louder one does not take over, a much louder one does', async () => {
  const d = new ActiveSpeaker({ intervalMs: 10, windowMs: 30, speakingLevel: 70, switchMarginDb: 6 });
  const seen = changes(d);
  const levels = new Map([
    ['a', 30],
    ['b', 110],
  ]);
  const feed = setInterval(() => {
    for (const [id, level] of levels) d.observe(id, level);
  }, 2);
  try {
    await waitFor(() => d.active === 'a', 2000, 'a active');
    assert.deepEqual(seen.at(-1), { active: 'a', speakers: ['a'] });
    levels.set('b', 27); // louder than a, but by less than the margin: a stays active
    await waitFor(() => seen.at(-1)?.speakers.length === 2, 2000, 'b speaking too');
    assert.equal(d.active, 'a');
    levels.set('b', 10); // 20 dB louder: b takes over
    await waitFor(() => d.active === 'b', 2000, 'b active');
    levels.set('b', 127);
    levels.set('a', 127);
    await waitFor(() => seen.at(-1)?.active === undefined && seen.at(-1)?.speakers.length === 0, 2000, 'silence');
  } finally {
    clearInterval(feed);
    d.close();
  }
});

test('a producer that stops sending counts as silent; removing one ends its turn; close() is idempotent', async () => {
  const d = new ActiveSpeaker({ intervalMs: 10, windowMs: 30 });
  const seen = changes(d);
  const feed = setInterval(() => d.observe('a', 20), 2);
  await waitFor(() => d.active === 'a', 2000, 'a active');
  clearInterval(feed); // no more packets: after a window of silence a is no longer speaking
  await waitFor(() => d.active === undefined, 2000, 'a silent');
  d.observe('b', 20);
  d.remove('b');
  assert.ok(!d.levels().some((l) => l.producerId === 'b'));
  d.close();
  d.close();
  d.observe('c', 0);
  assert.deepEqual(d.levels(), [], 'nothing observed after close');
  assert.ok(seen.length >= 2);
});
