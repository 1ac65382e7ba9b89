import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rateQuality, summarizePublishStats, summarizeStats } from '../src/stats.ts';

describe('stats summary', () => {
  it('reads RTT from the selected pair, loss and per-track video frames', () => {
    const report = [
      { id: 'T1', type: 'transport', selectedCandidatePairId: 'CP1', bytesReceived: 1000, bytesSent: 2000 },
      { id: 'CP1', type: 'candidate-pair', currentRoundTripTime: 0.012, nominated: true, state: 'succeeded' },
      {
        id: 'IV',
        type: 'inbound-rtp',
        kind: 'video',
        trackIdentifier: 'trk-v',
        mid: '1',
        framesDecoded: 90,
        packetsLost: 2,
        packetsReceived: 98,
        frameWidth: 640,
        frameHeight: 480,
      },
      { id: 'IA', type: 'inbound-rtp', kind: 'audio', packetsLost: 0, packetsReceived: 100 },
      { id: 'X', type: 'codec', mimeType: 'video/VP8' },
    ];
    const s = summarizeStats('peer', report);
    assert.equal(s.peerId, 'peer');
    assert.equal(s.rttMs, 12);
    assert.equal(s.lossPercent, 1);
    assert.equal(s.bytesReceived, 1000);
    assert.deepEqual(s.inboundVideo, [{ trackIdentifier: 'trk-v', mid: '1', framesDecoded: 90, frameWidth: 640, frameHeight: 480 }]);
  });

  it('tolerates missing and odd fields', () => {
    const s = summarizeStats('p', [{ type: 'inbound-rtp', kind: 'video', framesDecoded: 'lots' }, { type: 'transport' }]);
    assert.equal(s.rttMs, null);
    assert.equal(s.lossPercent, null);
    assert.equal(s.inboundVideo[0]?.framesDecoded, 0);
  });

  it('rates quality', () => {
    assert.equal(rateQuality({ rttMs: null, lossPercent: null }), 'unknown');
    assert.equal(rateQuality({ rttMs: 20, lossPercent: 0 }), 'good');
    assert.equal(rateQuality({ rttMs: 200, lossPercent: 0 }), 'fair');
    assert.equal(rateQuality({ rttMs: 20, lossPercent: 10 }), 'poor');
  });
});

describe('publish stats summary', () => {
  it('lists the outbound layers in rid order with the available outgoing bitrate', () => {
    const report = [
      { id: 'T1', type: 'transport', selectedCandidatePairId: 'CP1' },
      { id: 'CP1', type: 'candidate-pair', availableOutgoingBitrate: 1_200_000 },
      { id: 'CP2', type: 'candidate-pair', availableOutgoingBitrate: 5, nominated: true, state: 'succeeded' },
      {
        id: 'O3',
        type: 'outbound-rtp',
        kind: 'video',
        rid: 'f',
        frameWidth: 640,
        frameHeight: 480,
        framesEncoded: 30,
        bytesSent: 9000,
        active: true,
        qualityLimitationReason: 'bandwidth',
      },
      {
        id: 'O1',
        type: 'outbound-rtp',
        kind: 'video',
        rid: 'q',
        frameWidth: 160,
        frameHeight: 120,
        framesEncoded: 31,
        bytesSent: 1000,
        active: true,
        qualityLimitationReason: 'none',
      },
      { id: 'O2', type: 'outbound-rtp', kind: 'video', rid: 'h', bytesSent: 0, active: false },
    ];
    const s = summarizePublishStats('video', report, ['q', 'h', 'f']);
    assert.equal(s.slot, 'video');
    assert.equal(s.availableOutgoingBitrate, 1_200_000);
    assert.deepEqual(s.layers, [
      { rid: 'q', width: 160, height: 120, framesEncoded: 31, bytesSent: 1000, active: true, qualityLimitationReason: 'none' },
      { rid: 'h', bytesSent: 0, active: false },
      { rid: 'f', width: 640, height: 480, framesEncoded: 30, bytesSent: 9000, active: true, qualityLimitationReason: 'bandwidth' },
    ]);
  });

  it('without simulcast or a selected pair', () => {
    const s = summarizePublishStats('audio', [
      { type: 'candidate-pair', availableOutgoingBitrate: 300_000, nominated: true, state: 'succeeded' },
      { type: 'outbound-rtp', kind: 'audio', bytesSent: 'x' },
    ]);
    assert.deepEqual(s, { slot: 'audio', layers: [{ rid: undefined, bytesSent: 0 }], availableOutgoingBitrate: 300_000 });
  });
});
