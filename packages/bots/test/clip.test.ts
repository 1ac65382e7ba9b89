import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareAudioClip, prepareVideoClip } from '../src/index.ts';

const duration = (frames: ReadonlyArray<{ duration: number }>) => frames.reduce((sum, f) => sum + f.duration, 0);

test('an Opus clip lasts exactly the seconds asked for (no encoder-delay packet), so a loop does not drift', async () => {
  for (const seconds of [1, 2]) {
    const clip = await prepareAudioClip({ source: 'tone', seconds });
    assert.equal(clip.codec, 'opus');
    assert.equal(duration(clip.frames), seconds * clip.clockRate, `${seconds} s of 48 kHz`);
  }
});

test('a VP8 clip has the frames of its duration and starts with a key frame', async () => {
  const clip = await prepareVideoClip({ source: 'testsrc', width: 160, height: 120, fps: 15, bitrateKbps: 150, gop: 15, seconds: 2 });
  assert.equal(clip.frames[0]?.key, true);
  assert.equal(clip.frames.length, 30);
  assert.equal(duration(clip.frames), 2 * clip.clockRate);
});
