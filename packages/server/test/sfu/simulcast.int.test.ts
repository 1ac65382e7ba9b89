/**
 * Simulcast through the Router with real node-datachannel peers: a publisher offers one video
 * section with three rids and sends three VP8 streams (160x120, 320x240, 640x480, each packet
 * tagged with its rid) on it; a subscriber receives one continuous stream whose resolution follows
 * the tile size it reports and its bandwidth (REMB). Every wait has a deadline.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/sfu/Router.ts';
import { Simulcast } from '../../src/sfu/Simulcast.ts';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { oneByteExtension } from '@parley-rtc/rtc/rtp/headerExtension';
import { randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import { writeRemb } from '@parley-rtc/rtc/rtp/rtcp';
import { vp8KeyFrameSizeInPayload } from '@parley-rtc/rtc/rtp/vp8';
import { EXT_RID } from '@parley-rtc/rtc/sdp';
import { PEER_OPTIONS, Vp8Pacer, testClip, withRetry } from '../media/clients.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const RID_EXT = 4;
const SIZES = ['160x120', '320x240', '640x480'];
const RIDS = ['q', 'h', 'f'];

after(() => releaseNativeWebRtc());

test('simulcast: the subscriber gets the layer that fits its tile and its bandwidth, in one continuous stream', async () => {
  const router = new Router({
    id: 'simulcast',
    connectionOptions: () => PEER_OPTIONS,
    senderReportIntervalMs: 200,
    keyFrameIntervalMs: 100,
  });
  const pacers = SIZES.map((size, i) => {
    const pacer = new Vp8Pacer(testClip(4, 15, size), randomSsrc());
    pacer.extension = oneByteExtension([{ id: RID_EXT, data: Buffer.from(RIDS[i]!) }]);
    return pacer;
  });
  let pub: MediaPeer | undefined;
  let sub: MediaPeer | undefined;
  try {
    const published = await withRetry('publish', async () => {
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
      const res = await router.publish(await pub.createOffer());
      assert.match(res.answer, /a=simulcast:recv q;h;f/);
      pub.setAnswer(res.answer);
      await pub.waitConnected(8000);
      return res;
    });
    assert.equal(published.producers[0]!.layers, 3);
    for (const p of pacers) p.start(pub!.tracks[0]!);
    const sim = router.publication(published.producers[0]!.id);
    assert.ok(sim instanceof Simulcast);
    await waitFor(() => sim.layerInfo().every((l) => l.width > 0), 8000, 'key frames of all three layers');
    assert.deepEqual(
      sim.layerInfo().map((l) => `${l.width}x${l.height}`),
      SIZES,
    );

    // the subscriber: one VP8 section; remember key-frame sizes and sequence continuity
    const keySizes: string[] = [];
    let lastSeq: number | undefined;
    let gaps = 0;
    let packets = 0;
    const subscribed = await withRetry('subscribe', async () => {
      sub?.close();
      sub = new MediaPeer('sim-sub', PEER_OPTIONS);
      const recv = sub.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 96 });
      recv.on('rtp', (p) => {
        const seq = p.readUInt16BE(2);
        if (lastSeq !== undefined && seq !== ((lastSeq + 1) & 0xffff)) gaps++;
        lastSeq = seq;
        packets++;
        const size = vp8KeyFrameSizeInPayload(p.subarray(12 + (p[0]! & 0x0f) * 4));
        if (size) keySizes.push(`${size.width}x${size.height}`);
      });
      const res = await router.subscribe(await sub.createOffer(), [published.producers[0]!.id]);
      sub.setAnswer(res.answer);
      await sub.waitConnected(8000);
      return res;
    });
    const consumerId = subscribed.consumers[0]!.id;
    const consumerSsrc = subscribed.consumers[0]!.ssrc;
    await waitFor(() => keySizes.includes('640x480') && packets >= 30, 8000, 'the top layer first (no tile size yet)');

    router.setVideoSize(consumerId, 150, 110);
    await waitFor(() => keySizes.at(-1) === '160x120', 8000, 'the low layer for a small tile');
    router.setVideoSize(consumerId, 320, 240);
    await waitFor(() => keySizes.at(-1) === '320x240', 8000, 'the middle layer for a middle tile');
    router.setVideoSize(consumerId, 0, 0);
    await waitFor(() => keySizes.at(-1) === '640x480', 8000, 'the top layer again without a size');

    // bandwidth: a REMB below the top layer's bitrate moves the subscriber down
    const top = sim.layerInfo()[2]!.bitrate;
    assert.ok(top > 0, 'layer bitrates measured');
    const remb = setInterval(() => sub!.tracks[0]!.sendRtcp(writeRemb(1, Math.floor(top / 2), [consumerSsrc])), 100);
    try {
      await waitFor(() => keySizes.at(-1) !== '640x480', 8000, 'a lower layer within the bandwidth');
    } finally {
      clearInterval(remb);
    }
    const before = packets;
    await waitFor(() => packets >= before + 20, 8000, 'media keeps flowing');
    assert.equal(gaps, 0, 'sequence numbers stay contiguous across every layer switch');
    assert.equal(sim.droppedUnknown, 0);
  } finally {
    for (const p of pacers) p.stop();
    sub?.close();
    pub?.close();
    router.close();
  }
});
