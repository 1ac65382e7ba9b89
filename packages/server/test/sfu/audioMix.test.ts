/**
 * The room audio mix's parts without a network: MixInput's jitter buffer (start threshold, underrun,
 * overflow, late and duplicate packets, gaps), and RoomAudioMix on a Router whose producers are fed
 * RTP directly (real Opus from opusscript): both inputs heard, a muted one not, the input cap, the
 * mix unannounced, and close removing the taps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpusScript from 'opusscript';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { waitFor } from '@parley-rtc/test-support/poll';
import { Router, type ProducerInfo } from '../../src/sfu/Router.ts';
import { FRAME_SAMPLES, MixInput } from '../../src/sfu/mix/MixInput.ts';
import { RoomAudioMix } from '../../src/sfu/mix/RoomAudioMix.ts';
import { energyAt, opusProducer } from './audioFixtures.ts';

/** Encodes 20 ms frames of a tone into RTP packets (seq and timestamp advancing). */
class ToneSource {
  readonly #enc = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
  #n = 0;
  seq = 100;
  ts = 5000;
  constructor(
    readonly hz: number,
    readonly ssrc = 1234,
  ) {}
  packet(): Buffer {
    const pcm = Buffer.alloc(FRAME_SAMPLES * 2);
    for (let i = 0; i < FRAME_SAMPLES; i++)
      pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * this.hz * (this.#n * FRAME_SAMPLES + i)) / 48_000)), i * 2);
    this.#n++;
    const pkt = writeRtp({
      marker: false,
      payloadType: 111,
      sequenceNumber: this.seq,
      timestamp: this.ts,
      ssrc: this.ssrc,
      payload: this.#enc.encode(pcm, FRAME_SAMPLES),
    });
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + FRAME_SAMPLES) >>> 0;
    return pkt;
  }
  close(): void {
    this.#enc.delete();
  }
}

test('MixInput plays after 60 ms buffered, buffers again after an underrun, drops late packets, fills gaps, caps the buffer', () => {
  const src = new ToneSource(440);
  const input = new MixInput('p1');
  const acc = new Int32Array(FRAME_SAMPLES);
  try {
    input.push(src.packet());
    input.push(src.packet());
    assert.equal(input.playing, false, '40 ms is not enough');
    assert.equal(input.mixInto(acc), false);
    assert.ok(acc.every((x) => x === 0));
    input.push(src.packet());
    assert.equal(input.playing, true);
    assert.equal(input.buffered, 3 * FRAME_SAMPLES);
    for (let i = 0; i < 3; i++) assert.equal(input.mixInto(acc), true);
    assert.ok(
      acc.some((x) => x !== 0),
      'the tone was added',
    );
    assert.equal(input.stats.underruns, 0);
    assert.equal(input.mixInto(acc), true, 'an empty frame: silence, and an underrun');
    assert.equal(input.stats.underruns, 1);
    assert.equal(input.playing, false);

    // a duplicate and an older packet are dropped
    const dup = src.packet();
    input.push(dup);
    input.push(dup);
    assert.equal(input.stats.late, 1);
    assert.equal(input.buffered, FRAME_SAMPLES);
    // two lost packets: their 40 ms become silence, so the input stays in time
    src.packet();
    src.packet();
    input.push(src.packet());
    assert.equal(input.buffered, 4 * FRAME_SAMPLES);
    assert.equal(input.playing, true);

    // more than 300 ms buffered (nobody mixing): it drops back to 60 ms
    for (let i = 0; i < 20; i++) input.push(src.packet());
    assert.ok(input.buffered <= 300 * 48, `buffered ${input.buffered}`);
    assert.ok(input.stats.droppedSamples > 0);
    // a stream that restarts far back in sequence space is taken, not dropped as late
    src.seq = (src.seq + 30_000) & 0xffff;
    const late = input.stats.late;
    input.push(src.packet());
    assert.equal(input.stats.late, late);
  } finally {
    input.close();
    input.close();
    src.close();
  }
});

/** A router with `n` Opus producers fed directly (no connection): what attachRelay registers. */
function routerWith(n: number) {
  const router = new Router({ id: 'mix-unit', connectionOptions: () => ({ iceServers: [] }) });
  const announced: ProducerInfo[] = [];
  router.on('producer', (p) => announced.push(p));
  const add = (i: number) => {
    const producer = opusProducer(i);
    router.attachRelay(producer);
    return producer;
  };
  const producers = Array.from({ length: n }, (_, i) => add(i));
  return { router, producers, announced, add };
}

test('RoomAudioMix mixes every unmuted Opus producer, stays unannounced, caps its inputs and closes cleanly', async () => {
  const { router, producers, announced, add } = routerWith(2);
  const sources = [new ToneSource(440, 1000), new ToneSource(1000, 1001)];
  const lease = RoomAudioMix.acquire(router, { maxInputs: 2 });
  const mix = lease.mix;
  const again = RoomAudioMix.acquire(router);
  assert.equal(again.mix, mix, 'one mix per router');
  const decoder = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
  let heard: Buffer[] = [];
  const untap = mix.producer.addTap((pkt) => heard.push(decoder.decode(pkt.subarray(12))));
  // the publishers send in real time, as a publisher would
  const feed = setInterval(() => producers.forEach((p, i) => p.receiveRtp(sources[i]!.packet())), 20);
  const listen = async (ms: number) => {
    heard = [];
    await waitFor(() => heard.length >= ms / 20, 10_000, `${ms} ms of the mix`);
    const all = Buffer.concat(heard);
    const pcm = new Int16Array(all.length >> 1);
    for (let i = 0; i < pcm.length; i++) pcm[i] = all.readInt16LE(i * 2);
    return { a: energyAt(pcm, 440), b: energyAt(pcm, 1000), none: energyAt(pcm, 700) };
  };
  try {
    assert.deepEqual(
      announced.map((p) => p.id),
      ['p0', 'p1'],
      'the mix producer is not announced',
    );
    assert.ok(router.producer(mix.producer.id));
    assert.deepEqual(mix.inputs.sort(), ['p0', 'p1']);
    await listen(200); // inputs start after 60 ms buffered
    const both = await listen(600);
    assert.ok(both.a > 20 * both.none && both.b > 20 * both.none, JSON.stringify(both));

    // an admin mute stops forwarding: the muted input is not heard
    router.setMuted('p1', true);
    await listen(200);
    const muted = await listen(600);
    assert.ok(muted.a > 20 * muted.none && muted.b < muted.a / 20, JSON.stringify(muted));
    router.setMuted('p1', false);

    // at most two inputs: a third waits until one ends
    const third = add(2);
    assert.deepEqual(mix.inputs.sort(), ['p0', 'p1']);
    producers[1]!.close();
    assert.deepEqual(mix.inputs.sort(), ['p0', 'p2']);
    third.close();

    lease.release();
    lease.release(); // idempotent: the other user still holds it
    assert.equal(mix.closed, false);
    again.release();
    assert.equal(mix.closed, true);
    assert.equal(mix.running, false);
    assert.deepEqual(mix.inputs, []);
    assert.equal(router.producer(mix.producer.id), undefined, 'the mix producer left the router');
    assert.equal(RoomAudioMix.of(router), undefined);
    const frames = mix.stats.frames;
    // a new viewer starts a new mix
    const next = RoomAudioMix.acquire(router);
    assert.notEqual(next.mix, mix);
    router.close();
    assert.equal(next.mix.closed, true, 'the mix closes with its router');
    assert.equal(mix.stats.frames, frames);
  } finally {
    clearInterval(feed);
    untap();
    decoder.delete();
    for (const s of sources) s.close();
    router.close();
  }
});
