/**
 * Time to first frame, checked by behaviour (the timing itself is in `npm run bench:media`): a
 * viewer's video starts with the source's cached key frame the moment its transport opens, without
 * waiting for the source's next key frame, and an endless source stays warm for `sourceIdleMs`
 * after its last viewer so a returning viewer starts from the same ffmpeg.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { startServer } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { NodeWhipPublisher, RtpViewer, testClip } from './clients.ts';

after(() => releaseNativeWebRtc());

/** PIDs of ffmpeg processes that are children of this test process. */
function ffmpegChildren(): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (m && m[1] === 'ffmpeg' && Number(m[2]) === process.pid) out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
}

test('a late WHEP viewer of a live stream starts with the cached key frame, without a key-frame request to the publisher', async () => {
  const s = await startServer({ media: { bindAddress: '127.0.0.1' } });
  // one key frame per 10 s loop: a viewer that had to wait for the next one would get nothing decodable for seconds
  const publisher = new NodeWhipPublisher(testClip(10, 300));
  const first = new RtpViewer('first');
  const late = new RtpViewer('late');
  try {
    await publisher.connect(`${s.app.url}/whip/live`);
    await first.whep(`${s.app.url}/whep/live`);
    await waitFor(() => first.frames >= 30, 10_000, 'the first viewer receives frames');
    assert.equal(first.firstVideoIsKeyFrame, true, 'the first viewer started at a key frame');
    const plis = publisher.plis;
    await late.whep(`${s.app.url}/whep/live`);
    await waitFor(() => late.frames >= 10, 10_000, 'the late viewer receives frames');
    assert.equal(late.firstVideoIsKeyFrame, true, "the late viewer's first video packet starts a key frame");
    assert.equal(publisher.plis, plis, 'the cached key frame served the late viewer: no PLI to the publisher');
  } finally {
    await late.close();
    await first.close();
    await publisher.close();
    await s.close();
  }
});

test('a viewer who comes back within sourceIdleMs gets the same ffmpeg and starts at a key frame', async () => {
  const s = await startServer({ media: { bindAddress: '127.0.0.1', sourceIdleMs: 60_000 } });
  const before = new Set(ffmpegChildren());
  const a = new RtpViewer('leaving');
  const b = new RtpViewer('returning');
  try {
    await a.whep(`${s.app.url}/whep/test`);
    await waitFor(() => a.frames >= 5, 10_000, 'frames on the first viewer');
    const mine = ffmpegChildren().filter((p) => !before.has(p));
    assert.equal(mine.length, 1, 'one ffmpeg for the test pattern');
    await a.close();
    await b.whep(`${s.app.url}/whep/test`);
    await waitFor(() => b.frames >= 5, 10_000, 'frames on the returning viewer');
    assert.deepEqual(
      ffmpegChildren().filter((p) => !before.has(p)),
      mine,
      'the returning viewer is served by the ffmpeg that kept running',
    );
    assert.equal(b.firstVideoIsKeyFrame, true, "the returning viewer's first video packet starts a key frame");
  } finally {
    await b.close();
    await a.close();
    await s.close();
  }
});
