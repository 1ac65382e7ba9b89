import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKeyFrameStart } from '../src/rtp/keyFrame.ts';
import { writeRtp } from '../src/rtp/rtp.ts';

const VP8_KEY = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
const VP8_DELTA = Buffer.from([0x10, 0x01, 0x00, 0x00, 0xaa]);
const H264_IDR = Buffer.from([0x65, 0x88, 0x80]);
const H264_SLICE = Buffer.from([0x41, 0x9a, 0x00]);

const rtp = (payload: Buffer, more: { csrcs?: number[]; extension?: { profile: number; data: Uint8Array }; padding?: number } = {}) =>
  writeRtp({ payloadType: 96, sequenceNumber: 1, timestamp: 3000, ssrc: 7, payload, ...more });

test('VP8 and H.264 key-frame starts are found past CSRCs, a header extension and padding', () => {
  const shapes = [{}, { csrcs: [1, 2] }, { extension: { profile: 0xbede, data: new Uint8Array(4) } }, { padding: 3 }];
  for (const more of shapes) {
    assert.equal(isKeyFrameStart('vp8', rtp(VP8_KEY, more)), true, JSON.stringify(more));
    assert.equal(isKeyFrameStart('vp8', rtp(VP8_DELTA, more)), false, JSON.stringify(more));
    assert.equal(isKeyFrameStart('h264', rtp(H264_IDR, more)), true, JSON.stringify(more));
    assert.equal(isKeyFrameStart('h264', rtp(H264_SLICE, more)), false, JSON.stringify(more));
  }
});

test('a codec without key frames starts anywhere; no codec, or a packet without payload, never', () => {
  assert.equal(isKeyFrameStart('opus', rtp(Buffer.from([0xfc]))), true);
  assert.equal(isKeyFrameStart(undefined, rtp(VP8_KEY)), false);
  assert.equal(isKeyFrameStart('vp8', rtp(Buffer.alloc(0))), false);
  assert.equal(isKeyFrameStart('vp8', Buffer.alloc(8)), false);
});
