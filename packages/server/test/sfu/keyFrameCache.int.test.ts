/**
 * The SFU's key-frame cache with real node-datachannel peers (SDP straight to the Router API): a
 * publisher that sends one key frame and then only deltas, and never answers a PLI (as an encoder
 * with a long GOP), and a subscriber that joins after that key frame. Its first video packet
 * starts a key frame, taken from the cache; the publisher sent no other. Closing the subscription
 * and the publisher leaves nothing behind. Every wait has a deadline; no fixed sleeps.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/sfu/Router.ts';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { randomSsrc, rtpPayloadOffset, writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { isVp8KeyFrameStart } from '@parley-rtc/rtc/rtp/vp8';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { PEER_OPTIONS, withRetry } from '../media/clients.ts';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const KEY = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
const DELTA = Buffer.from([0x10, 0x01, 0x00, 0x00, 0xaa]);

const router = new Router({ id: 'kf-room', connectionOptions: () => PEER_OPTIONS, connectTimeoutMs: 15_000 });
const peers: MediaPeer[] = [];
after(() => {
  router.close();
  for (const p of peers) p.close();
  releaseNativeWebRtc();
});

test(
  'a subscriber that joins after the only key frame starts with it, from the cache; the publisher sends no new one',
  { timeout: 60_000 },
  async () => {
    const ssrc = randomSsrc();
    const pub = await withRetry('publisher', async () => {
      const peer = new MediaPeer('kf-pub', PEER_OPTIONS);
      peers.push(peer);
      const track = peer.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: VP8, payloadType: 96, ssrc });
      const r = await router.publish(await peer.createOffer());
      peer.setAnswer(r.answer);
      await peer.waitConnected(8000);
      return { peer, track, connectionId: r.connectionId, producerId: r.producers[0]!.id };
    });
    const producer = router.producer(pub.producerId)!;
    let plisAtPublisher = 0;
    pub.track.on('rtcp', (packets) => (plisAtPublisher += packets.filter((p) => p.type === 'pli').length));
    let seq = 100;
    let ts = 9000;
    let keyFramesSent = 0;
    // key frames until the SFU has one (the first packets may precede its side of the transport), then deltas only
    const send = () => {
      const key = producer.keyFrameCache!.size === 0;
      if (key) keyFramesSent++;
      pub.track.sendRtp(
        writeRtp({
          payloadType: 96,
          sequenceNumber: seq++ & 0xffff,
          timestamp: (ts += 3000) >>> 0,
          ssrc,
          marker: true,
          payload: key ? KEY : DELTA,
        }),
      );
    };
    const timer = setInterval(send, 20);
    try {
      await waitFor(() => (producer.keyFrameCache?.size ?? 0) >= 5, 10_000, 'a key frame and deltas at the SFU');
      const keyFrames = keyFramesSent;

      const received: Buffer[] = [];
      const sub = await withRetry('subscriber', async () => {
        const peer = new MediaPeer('kf-sub', PEER_OPTIONS);
        peers.push(peer);
        const track = peer.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 96 });
        track.on('rtp', (p) => received.push(Buffer.from(p)));
        const r = await router.subscribe(await peer.createOffer(), [pub.producerId]);
        peer.setAnswer(r.answer);
        await peer.waitConnected(8000);
        return { peer, connectionId: r.connectionId, consumerId: r.consumers[0]!.id };
      });
      await waitFor(() => received.length >= 10, 10_000, 'video at the subscriber');
      const first = received[0]!;
      assert.ok(isVp8KeyFrameStart(first.subarray(rtpPayloadOffset(first))), 'the first packet starts a key frame');
      assert.equal(keyFramesSent, keyFrames, 'the publisher sent no other key frame');
      // the SFU asks at subscribe time; inside the PLI interval the request is coalesced and sent at its end
      await waitFor(
        () => plisAtPublisher >= 1,
        10_000,
        'the PLI asked for at subscribe time (a real encoder would send a fresh key frame)',
      );
      assert.equal(router.consumer(sub.consumerId)!.stats.keyFrameReplays, 1);
      const seqs = received.map((p) => p.readUInt16BE(2));
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff, `contiguous at ${i}: ${seqs.join(',')}`);

      router.closeConnection(sub.connectionId);
      assert.equal(router.stats().consumers, 0);
      assert.equal(producer.consumerCount, 0);
      router.closeConnection(pub.connectionId);
      assert.ok(producer.closed);
      assert.equal(producer.keyFrameCache!.size, 0, 'a closed producer keeps no packets');
    } finally {
      clearInterval(timer);
    }
  },
);
