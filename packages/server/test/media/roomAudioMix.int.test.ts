/**
 * The room audio mix of the active-speaker WHEP view, with real parts: two aiortc WHIP publishers
 * send tones of different frequencies into a room, a node-datachannel WHEP viewer of the room's
 * active speaker decodes the Opus it receives (opusscript) and finds both tones in it (Goertzel
 * energy far above a third frequency), not just the speaker's. One publisher leaves: the mix goes
 * on with the other. The mix is never announced to members, is shared by the viewers, and closes
 * (clock stopped, taps removed) when the last viewer leaves. Skipped without python3-aiortc.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpusScript from 'opusscript';
import type { SfuProducerInfo } from '@parley-rtc/protocol';
import { rtpPayloadOffset } from '@parley-rtc/rtc/rtp/rtp';
import { startServer, request, collect, data, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { sfuRoomsOf } from '../../src/sfu/feature.ts';
import { RoomAudioMix } from '../../src/sfu/mix/RoomAudioMix.ts';
import { energyAt } from '../sfu/audioFixtures.ts';
import { AiortcClient, aiortcMissing } from './aiortcClient.ts';
import { RtpViewer } from './clients.ts';

let server: TestServer;
const clients: AiortcClient[] = [];
const viewers: RtpViewer[] = [];

before(async () => {
  if (aiortcMissing) return;
  server = await startServer({ media: { bindAddress: '127.0.0.1' } });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(viewers.map((v) => v.close()));
  await server?.close();
  releaseNativeWebRtc();
});

const opts = { skip: aiortcMissing, timeout: 120_000 };

async function join(room: string, name: string): Promise<{ socket: TestSocket; id: string }> {
  const socket = await server.connect();
  const joined = data(await request<{ self: { id: string } }>(socket, 'join', { room, name }));
  return { socket, id: joined.self.id };
}

function publisher(room: string, name: string, tone: number): AiortcClient {
  const c = new AiortcClient('whip', `${server.app.url}/whip/rooms/${room}?name=${name}`, ['--tone', String(tone), '--amplitude', '8000']);
  clients.push(c);
  return c;
}

/** The Opus frames a viewer receives from now on, decoded to mono PCM. */
function listen(viewer: RtpViewer): { samples: () => number; take: () => Int16Array; close: () => void } {
  const decoder = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
  let chunks: Buffer[] = [];
  let count = 0;
  const off = viewer.audio.on('rtp', (pkt) => {
    const offset = rtpPayloadOffset(pkt);
    if (offset === undefined || offset >= pkt.length) return;
    const pcm = decoder.decode(pkt.subarray(offset));
    chunks.push(pcm);
    count += pcm.length >> 1;
  });
  return {
    samples: () => count,
    take: () => {
      const all = Buffer.concat(chunks);
      chunks = [];
      count = 0;
      const out = new Int16Array(all.length >> 1);
      for (let i = 0; i < out.length; i++) out[i] = all.readInt16LE(i * 2);
      return out;
    },
    close: () => {
      off();
      decoder.delete();
    },
  };
}

/** About `seconds` of what the viewer hears, and its energy at 440 Hz, 1000 Hz and 700 Hz (neither tone). */
async function hear(audio: ReturnType<typeof listen>, seconds: number, what: string) {
  audio.take();
  await waitFor(
    () => audio.samples() >= seconds * 48_000,
    20_000,
    what,
    () => `${audio.samples()} samples`,
  );
  const pcm = audio.take();
  return { a: energyAt(pcm, 440), b: energyAt(pcm, 1000), none: energyAt(pcm, 700) };
}

test('an active-speaker viewer hears every publisher (the room’s mix); one leaves and the mix goes on', opts, async () => {
  const ann = await join('mix-room', 'ann');
  const announced = collect<SfuProducerInfo>(ann.socket, 'sfu_producer');
  const low = publisher('mix-room', 'low', 440);
  const high = publisher('mix-room', 'high', 1000);
  await waitFor(() => announced.items.length === 4, 20_000, 'both publishers’ tracks announced');
  await low.waitStats('the 440 Hz publisher connected', (s) => s.state === 'connected');
  await high.waitStats('the 1000 Hz publisher connected', (s) => s.state === 'connected');

  const viewer = new RtpViewer('mix-viewer');
  viewers.push(viewer);
  await viewer.whep(`${server.app.url}/whep/rooms/mix-room`);
  const router = sfuRoomsOf(server.app)!.router('mix-room')!;
  const mix = RoomAudioMix.of(router);
  assert.ok(mix, 'the active-speaker viewer started the room’s mix');
  assert.equal(mix.users, 1);
  await waitFor(
    () => mix.inputs.length === 2,
    10_000,
    'both microphones tapped',
    () => JSON.stringify(mix.inputs),
  );
  const audio = listen(viewer);
  try {
    // the first packets come before the inputs buffered: listen past that
    await hear(audio, 0.5, 'the mix starting');
    const both = await hear(audio, 1.5, '1.5 s of the mix');
    assert.ok(both.a > 20 * both.none, `440 Hz in the mix: ${JSON.stringify(both)}`);
    assert.ok(both.b > 20 * both.none, `1000 Hz in the mix: ${JSON.stringify(both)}`);

    // members never hear of the mix (they would subscribe to themselves), not even one who joins now
    const bob = await server.connect();
    const toBob = collect<SfuProducerInfo>(bob, 'sfu_producer');
    data(await request(bob, 'join', { room: 'mix-room', name: 'bob' }));
    await waitFor(() => toBob.items.length === 4, 10_000, 'the room’s tracks announced to bob');
    for (const list of [announced.items, toBob.items, sfuRoomsOf(server.app)!.publicationsOf('mix-room')])
      assert.ok(!list.some((p) => p.id === mix.producer.id), 'the mix is not announced');
    assert.ok(router.producer(mix.producer.id), 'the router holds the mix producer');

    // a second viewer shares the mix
    const second = new RtpViewer('mix-viewer-2');
    viewers.push(second);
    await second.whep(`${server.app.url}/whep/rooms/mix-room`);
    assert.equal(RoomAudioMix.of(router), mix);
    assert.equal(mix.users, 2);
    await waitFor(() => second.audioPackets > 25, 10_000, 'the second viewer receives the mix');
    await second.close();
    await waitFor(() => mix.users === 1, 10_000, 'the second viewer released the mix');
    assert.equal(mix.running, true);

    // the 1000 Hz publisher leaves: its input goes, the mix keeps playing the other
    await high.close();
    await waitFor(() => mix.inputs.length === 1, 15_000, 'the leaver’s input removed');
    const one = await hear(audio, 1.5, 'the mix after one publisher left');
    assert.ok(one.a > 20 * one.none, `440 Hz still in the mix: ${JSON.stringify(one)}`);
    assert.ok(one.b < one.a / 20, `1000 Hz gone: ${JSON.stringify(one)}`);
  } finally {
    audio.close();
  }

  // the last viewer leaves: the mix closes (clock stopped, taps removed, producer gone)
  const mixId = mix.producer.id;
  await viewer.close();
  await waitFor(() => mix.closed, 10_000, 'the mix closed with its last viewer');
  assert.equal(mix.running, false);
  assert.deepEqual(mix.inputs, []);
  assert.equal(RoomAudioMix.of(router), undefined);
  assert.equal(router.producer(mixId), undefined);
  const frames = mix.stats.frames;
  assert.ok(frames > 100, `frames sent: ${frames}`);
  await low.close();
});
