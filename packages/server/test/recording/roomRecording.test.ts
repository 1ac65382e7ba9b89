/**
 * Room recording parts without a server: the composition's layout over time (intervals, grid
 * cells, the active speaker's large tile), simulcast layer switches on the room clock, and a track whose file cannot be written (a full disk: /dev/full) reports ENOSPC to its
 * recording instead of throwing into the packet path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oneByteExtension } from '@parley-rtc/rtc/rtp/headerExtension';
import { ntpNow } from '@parley-rtc/rtc/rtp/rtcp';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { Producer } from '../../src/sfu/Producer.ts';
import { Simulcast } from '../../src/sfu/Simulcast.ts';
import { RoomClock } from '../../src/media/recording/room/RoomClock.ts';
import { TrackRecorder } from '../../src/media/recording/room/TrackRecorder.ts';
import { gridCell, layoutIntervals } from '../../src/media/recording/room/compose.ts';
import { cellOf } from '../../src/media/recording/room/layout.ts';

test('the layout changes wherever the set of video tracks carrying media changes', () => {
  const a = { segments: [[0, 10_000]] as Array<[number, number]> };
  const b = {
    segments: [
      [3000, 5000],
      [7000, 10_000],
    ] as Array<[number, number]>,
  };
  assert.deepEqual(layoutIntervals([a, b], 10_000), [
    { from: 0, to: 3000, active: [0] },
    { from: 3000, to: 5000, active: [0, 1] },
    { from: 5000, to: 7000, active: [0] },
    { from: 7000, to: 10_000, active: [0, 1] },
  ]);
  assert.deepEqual(layoutIntervals([{ segments: [] }], 5000), [], 'a track with no media takes no tile');
});

test('grid cells: equal tiles, a short last row centred', () => {
  assert.deepEqual(gridCell(1, 0, 1280, 720), { x: 0, y: 0, w: 1280, h: 720 });
  assert.deepEqual(gridCell(2, 1, 1280, 720), { x: 640, y: 0, w: 640, h: 720 });
  const third = gridCell(3, 2, 1280, 720);
  assert.equal(third.y, 360);
  assert.equal(third.x, 320, 'the lone tile of the last row is centred');
});

test('a track that cannot be written (disk full) reports ENOSPC and stops; the packet path does not throw', () => {
  const opus = { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 } as const;
  const producer = new Producer({
    id: 'p',
    connectionId: 'c',
    kind: 'audio',
    codec: opus,
    payloadType: 111,
    ssrc: 7,
    sendKeyFrameRequest: () => {},
  });
  const errors: NodeJS.ErrnoException[] = [];
  const rec = new TrackRecorder({
    publication: producer,
    member: 'm',
    path: '/dev/full',
    clock: new RoomClock(),
    onError: (e) => errors.push(e),
  });
  producer.receiveRtcp([{ type: 'sr', ssrc: 7, ...ntpNow(), rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [] }]);
  for (let i = 0; i < 5; i++)
    producer.receiveRtp(
      writeRtp({ payloadType: 111, sequenceNumber: i, timestamp: i * 960, ssrc: 7, payload: Buffer.from([0xfc, 1, 2, 3]) }),
    );
  assert.equal(errors.length, 1, 'reported once');
  assert.equal(errors[0]?.code, 'ENOSPC');
  assert.equal(producer.stats.consumerErrors, 0, 'nothing escaped into the producer');
  rec.close();
  producer.close();
});

test('with four tiles or more, the active speaker (held for 2 s) gets the large tile', () => {
  const full: Array<[number, number]> = [[0, 20_000]];
  const videos = ['a', 'b', 'c', 'd'].map((id) => ({ segments: full, member: { id } }));
  const speakers = [
    { atMs: 1000, member: 'b' },
    { atMs: 5000, member: 'c' },
    { atMs: 8000, member: 'd' }, // only 1 s: not shown
    { atMs: 9000, member: null },
  ];
  const ivs = layoutIntervals(videos, 20_000, speakers);
  assert.deepEqual(
    ivs.map((i) => [i.from, i.to, i.featured]),
    [
      [0, 1000, undefined],
      [1000, 5000, 1],
      [5000, 9000, 2],
      [9000, 20_000, undefined],
    ],
  );
  const big = cellOf(ivs[1]!, 1, 1280, 720);
  assert.deepEqual(big, { x: 0, y: 0, w: 960, h: 720 });
  assert.deepEqual(cellOf(ivs[1]!, 3, 1280, 720), { x: 960, y: 480, w: 320, h: 240 }, 'the others in a column on the right');
  assert.equal(
    layoutIntervals(videos.slice(0, 3), 20_000, speakers).some((i) => i.featured !== undefined),
    false,
    'three tiles: a grid',
  );
});

test('simulcast: the recorder moves up to a higher layer at its key frame, and the room timeline stays continuous', () => {
  const vp8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
  const layers = [
    { rid: 'q', ssrc: 0x1000, width: 160, height: 120, ts0: 1_000_000 },
    { rid: 'f', ssrc: 0x3000, width: 640, height: 480, ts0: 7_000_000 },
  ];
  const sim = new Simulcast({
    id: 's',
    connectionId: 'c',
    codec: vp8,
    payloadType: 96,
    rids: layers.map((l) => l.rid),
    ridExtId: 10,
    sendRtcp: () => true,
    localSsrc: 1,
  });
  const dir = mkdtempSync(join(tmpdir(), 'parley-rec-unit-'));
  const rec = new TrackRecorder({
    publication: sim,
    member: 'm',
    path: join(dir, 'v.webm'),
    clock: new RoomClock(),
    onError: (e) => assert.fail(e),
  });
  const seq = [0, 0];
  const send = (i: number, k: number, key: boolean) => {
    const l = layers[i]!;
    const payload = key
      ? Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, l.width & 0xff, l.width >> 8, l.height & 0xff, l.height >> 8])
      : Buffer.from([0x10, 0x01, 0x00, 0x00, 0xaa]);
    sim.receiveRtp(
      writeRtp({
        payloadType: 96,
        sequenceNumber: seq[i]!++,
        timestamp: l.ts0 + k * 3000,
        ssrc: l.ssrc,
        marker: true,
        payload,
        extension: oneByteExtension([{ id: 10, data: Buffer.from(l.rid) }]),
      }),
    );
  };
  // Both layers' sender reports put frame 0 at the same NTP instant (one camera, one clock).
  const ntp = ntpNow();
  const sr = (i: number) =>
    sim.receiveRtcp([
      { type: 'sr', ssrc: layers[i]!.ssrc, ...ntp, rtpTimestamp: layers[i]!.ts0, packetCount: 0, octetCount: 0, reports: [] },
    ]);
  send(0, 0, true);
  sr(0);
  for (let k = 1; k < 30; k++) send(0, k, k % 10 === 0);
  assert.equal(rec.timing.width, 160, 'the low layer first (the only one flowing)');
  send(1, 30, false); // the high layer starts with a delta frame: not switched yet
  sr(1);
  send(0, 30, false);
  send(1, 31, true); // its key frame: switch
  for (let k = 32; k < 60; k++) send(1, k, false);
  assert.equal(rec.timing.layerSwitches, 1);
  assert.equal(rec.timing.width, 640);
  assert.equal(rec.timing.segments.length, 1, 'no gap at the switch');
  const span = rec.timing.endMs! - rec.timing.startMs!;
  assert.ok(Math.abs(span - (59 * 1000) / 30) < 2, `frames 0…59 span ${span} ms on the room clock`);
  rec.close();
  sim.close();
  rmSync(dir, { recursive: true, force: true });
});
