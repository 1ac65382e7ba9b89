/**
 * WHEP of one room member who publishes simulcast (three VP8 layers, node-datachannel, through
 * `sfu_publish`): the viewer starts on the top layer and moves to a lower one when its REMB says
 * it cannot take the top one, in one continuous stream — the SFU's layer choice, reached over WHEP.
 * A second session of the same client is refused (media.maxPeersPerClient is 1 here).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuPublishResult } from '@parley-rtc/protocol';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { oneByteExtension } from '@parley-rtc/rtc/rtp/headerExtension';
import { randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import { writeRemb } from '@parley-rtc/rtc/rtp/rtcp';
import { vp8KeyFrameSizeInPayload } from '@parley-rtc/rtc/rtp/vp8';
import { EXT_RID } from '@parley-rtc/rtc/sdp';
import { startServer, request, data, type TestServer } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { PEER_OPTIONS, Vp8Pacer, testClip, withRetry } from './clients.ts';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const RID_EXT = 4;
const SIZES = ['160x120', '320x240', '640x480'];
const RIDS = ['q', 'h', 'f'];
let server: TestServer;

before(async () => {
  server = await startServer({ media: { bindAddress: '127.0.0.1', maxPeersPerClient: 1 } });
});
after(async () => {
  await server?.close();
  releaseNativeWebRtc();
});

test('a WHEP viewer of a simulcast member gets the top layer, then a lower one when its REMB is low', async () => {
  const socket = await server.connect();
  const me = data(await request<{ self: { id: string } }>(socket, 'join', { room: 'sim-room', name: 'ann' })).self.id;
  const pacers = SIZES.map((size, i) => {
    const pacer = new Vp8Pacer(testClip(4, 15, size), randomSsrc());
    pacer.extension = oneByteExtension([{ id: RID_EXT, data: Buffer.from(RIDS[i]!) }]);
    return pacer;
  });
  let pub: MediaPeer | undefined;
  let viewer: MediaPeer | undefined;
  let location = '';
  try {
    await withRetry('publish', async () => {
      pub?.close();
      pub = new MediaPeer('sim-pub', PEER_OPTIONS);
      const track = pub.addTrack({
        mid: '0',
        kind: 'video',
        direction: 'send',
        codec: VP8,
        payloadType: 96,
        ssrc: pacers[0]!.ssrc,
        extmaps: [{ id: RID_EXT, uri: EXT_RID }],
        simulcastRids: RIDS,
      });
      track.on('rtcp', (packets) => {
        for (const p of packets) if (p.type === 'pli') pacers.find((x) => x.ssrc === p.mediaSsrc)?.jumpToKeyFrame();
      });
      const res = data(await request<SfuPublishResult>(socket, 'sfu_publish', { sdp: await pub.createOffer() }, 10_000));
      assert.equal(res.producers[0]!.layers, 3);
      pub.setAnswer(res.answer);
      await pub.waitConnected(8000);
    });
    for (const p of pacers) p.start(pub!.tracks[0]!);

    const keySizes: string[] = [];
    let ssrc = 0;
    let lastSeq: number | undefined;
    let gaps = 0;
    await withRetry('whep', async () => {
      viewer?.close();
      if (location) await fetch(location, { method: 'DELETE' });
      viewer = new MediaPeer('whep-sim', PEER_OPTIONS);
      viewer.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 96 }).on('rtp', (p) => {
        ssrc = p.readUInt32BE(8);
        const seq = p.readUInt16BE(2);
        if (lastSeq !== undefined && seq !== ((lastSeq + 1) & 0xffff)) gaps++;
        lastSeq = seq;
        const size = vp8KeyFrameSizeInPayload(p.subarray(12 + (p[0]! & 0x0f) * 4));
        if (size) keySizes.push(`${size.width}x${size.height}`);
      });
      const res = await fetch(`${server.app.url}/whep/rooms/sim-room/${me}`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp' },
        body: await viewer.createOffer(),
      });
      const answer = await res.text();
      assert.equal(res.status, 201, answer);
      location = new URL(res.headers.get('location')!, server.app.url).toString();
      viewer.setAnswer(answer);
      await viewer.waitConnected(8000);
    });
    await waitFor(
      () => keySizes.includes('640x480'),
      10_000,
      'the top layer first',
      () => JSON.stringify(keySizes),
    );

    // a REMB far below the top layer's bitrate: the SFU moves this viewer down at a key frame
    const remb = setInterval(() => ssrc && viewer!.tracks[0]!.sendRtcp(writeRemb(1, 30_000, [ssrc])), 100);
    try {
      await waitFor(
        () => keySizes.at(-1) === '160x120',
        15_000,
        'the low layer within the bandwidth',
        () => JSON.stringify(keySizes),
      );
    } finally {
      clearInterval(remb);
    }
    assert.equal(gaps, 0, 'one continuous stream across the layer switch');

    // media.maxPeersPerClient (1 here) bounds a client's room sessions
    const second = await fetch(`${server.app.url}/whep/rooms/sim-room/${me}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n',
    });
    assert.equal(second.status, 429);
    assert.equal(((await second.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
  } finally {
    for (const p of pacers) p.stop();
    if (location) await fetch(location, { method: 'DELETE' }).catch(() => undefined);
    viewer?.close();
    pub?.close();
  }
});
