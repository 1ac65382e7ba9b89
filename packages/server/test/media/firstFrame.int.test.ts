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
import pino from 'pino';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { packetizeVp8 } from '@parley-rtc/rtc/rtp/vp8';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { parseSdp, type CodecSpec } from '@parley-rtc/rtc/sdp';
import { LiveSource } from '../../src/media/sources/LiveSource.ts';
import { ViewerSession } from '../../src/media/sessions/ViewerSession.ts';
import { NodeWhipPublisher, PEER_OPTIONS, RtpViewer, testClip } from './clients.ts';

const VP8: CodecSpec = { kind: 'video', name: 'vp8', clockRate: 90000 };

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

test("a viewer's PLI gets the last key frame and what followed resent at once from the retransmission buffer", async () => {
  // real peers and a real live source, driven directly so that nothing but the resend can send more packets
  const source = new LiveSource({ name: 'pli', video: VP8, audio: undefined, requestKeyFrame: () => {} });
  const viewer = new MediaPeer('pli-viewer', PEER_OPTIONS);
  const received = viewer.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 96 });
  let frames = 0;
  received.on('rtp', (p) => {
    if (p[1]! & 0x80) frames++;
  });
  const offerSdp = await viewer.createOffer();
  const log = pino({ level: 'silent' });
  const { session } = await ViewerSession.answer('pli-session', source, offerSdp, parseSdp(offerSdp), PEER_OPTIONS, log).then((r) => {
    viewer.setAnswer(r.answer);
    return r;
  });
  try {
    const sent = session.peer.tracks[0]!;
    await waitFor(() => sent.isOpen, 10_000, "the session's video track to open");
    const clip = testClip(4, 300);
    let seq = 1000;
    let pushed = 0;
    for (let f = 0; f < 10; f++) {
      const payloads = packetizeVp8(clip.frames[f]!.data);
      payloads.forEach((payload, i) => {
        source.push(
          'video',
          writeRtp({ marker: i === payloads.length - 1, payloadType: 96, sequenceNumber: seq++, timestamp: f * 3000, ssrc: 42, payload }),
        );
        pushed++;
      });
    }
    await waitFor(() => frames >= 10, 10_000, 'the viewer receives the ten frames');
    const before = sent.packetsSent;
    assert.equal(before, pushed, 'each pushed packet was sent once');
    assert.ok(received.requestKeyFrame(), 'PLI sent');
    await waitFor(() => sent.packetsSent >= before + pushed, 10_000, 'the key frame and the frames after it to be resent');
    assert.equal(sent.packetsSent, before + pushed, 'resent once, from the key frame on');
  } finally {
    session.close('test over');
    viewer.close();
    await source.close();
  }
});
