import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../src/metrics/Metrics.ts';
import { registerSfuMetrics } from '../src/metrics/sfuMetrics.ts';
import type { RouterStats } from '../src/sfu/Router.ts';

const line = (text: string, sample: string) => new RegExp(`^${sample.replace(/[{}+."]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1];

describe('Metrics (prom-client)', () => {
  it('keeps counters, histograms and scrape-time gauges in its own registry', async () => {
    const a = new Metrics();
    const b = new Metrics();
    try {
      a.inc('parley_errors_total', 'Errors.', { code: 'FORBIDDEN' });
      a.inc('parley_errors_total', 'Errors.', { code: 'FORBIDDEN' }, 2);
      a.observe('parley_join_duration_seconds', 'Join.', 0.03, { outcome: 'ok' });
      a.observe('parley_join_duration_seconds', 'Join.', 7, { outcome: 'ok' });
      let rooms = 2;
      a.gauge('parley_rooms', 'Rooms.', () => [{ labels: {}, value: rooms }]);
      let text = await a.render();
      assert.equal(line(text, 'parley_errors_total{code="FORBIDDEN"}'), '3');
      assert.equal(a.value('parley_errors_total', { code: 'FORBIDDEN' }), 3);
      assert.equal(line(text, 'parley_join_duration_seconds_bucket{le="0.05",outcome="ok"}'), '1');
      assert.equal(line(text, 'parley_join_duration_seconds_bucket{le="10",outcome="ok"}'), '2');
      assert.equal(line(text, 'parley_join_duration_seconds_count{outcome="ok"}'), '2');
      assert.equal(line(text, 'parley_rooms'), '2');
      assert.match(text, /^# TYPE parley_process_cpu_seconds_total counter$/m);
      assert.match(text, /^parley_process_resident_memory_bytes [1-9]/m);
      rooms = 5;
      text = await a.render();
      assert.equal(line(text, 'parley_rooms'), '5', 'gauges are read at each scrape');
      assert.equal(line(await b.render(), 'parley_errors_total{code="FORBIDDEN"}'), undefined, 'registries are separate');
    } finally {
      a.close();
      a.close();
      b.close();
    }
  });

  it('collected families take the label names their samples bring, and may change them', async () => {
    const m = new Metrics();
    try {
      let samples: Array<{ labels: Record<string, string>; value: number }> = [];
      m.collectedCounter('parley_media_bytes_total', 'Bytes.', () => samples);
      assert.equal(line(await m.render(), 'parley_media_bytes_total'), '0');
      samples = [
        { labels: { direction: 'in' }, value: 10 },
        { labels: { direction: 'out' }, value: 20 },
      ];
      const text = await m.render();
      assert.equal(line(text, 'parley_media_bytes_total{direction="in"}'), '10');
      assert.equal(line(text, 'parley_media_bytes_total{direction="out"}'), '20');
    } finally {
      m.close();
    }
  });

  it('SFU counters only grow, across routers that come and go', async () => {
    const m = new Metrics();
    const stats = (packetsForwarded: number, consumers: number): RouterStats => ({
      connections: 2,
      producers: 1,
      consumers,
      packetsIn: packetsForwarded,
      packetsForwarded,
      droppedMalformed: 0,
      droppedUnknownSsrc: 0,
      droppedPayloadType: 0,
      droppedByTracks: 0,
      keyFrameRequestsSent: 1,
      retransmitted: 0,
      rejectedRequests: 0,
    });
    // Routers are told apart by identity: keep the same objects between scrapes.
    let live: Array<{ stats: () => RouterStats }> = [];
    registerSfuMetrics(m, () => live);
    try {
      const one = { s: stats(100, 2), stats: () => one.s };
      const two = { s: stats(50, 1), stats: () => two.s };
      live = [one, two];
      let text = await m.render();
      assert.equal(line(text, 'parley_sfu_packets_forwarded_total'), '150');
      assert.equal(line(text, 'parley_sfu_consumers'), '3');
      one.s = stats(130, 2);
      live = [one]; // router two closed
      text = await m.render();
      assert.equal(line(text, 'parley_sfu_packets_forwarded_total'), '180', 'router one gained 30; two is gone but counted');
      one.s = stats(20, 1); // a producer closed inside router one: its total dropped
      text = await m.render();
      assert.equal(line(text, 'parley_sfu_packets_forwarded_total'), '180');
      one.s = stats(25, 1);
      assert.equal(line(await m.render(), 'parley_sfu_packets_forwarded_total'), '185');
      assert.equal(line(await m.render(), 'parley_sfu_keyframe_requests_total'), '2');
    } finally {
      m.close();
    }
  });
});
