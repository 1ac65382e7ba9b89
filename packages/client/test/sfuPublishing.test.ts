import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError, type MediaSource as ProducerSource, type SfuPublishResult } from '@parley-rtc/protocol';
import { cameraEncodings, SfuPublisher, type SfuPublisherOptions } from '../src/SfuPublisher.ts';
import type { LocalTrack } from '../src/PeerLink.ts';

/**
 * The SFU publisher against fake peer connections and a scripted signal: which connections it
 * opens per slot, with which encodings, and when it tells the server to close them.
 */
class FakeSender {
  constructor(public track: MediaStreamTrack | null) {}
  async replaceTrack(track: MediaStreamTrack | null): Promise<void> {
    this.track = track;
  }
}

class FakePeerConnection extends EventTarget {
  iceGatheringState: RTCIceGatheringState = 'complete';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  readonly transceivers: Array<{ track: MediaStreamTrack; init: RTCRtpTransceiverInit; sender: FakeSender }> = [];
  closed = false;
  addTransceiver(track: MediaStreamTrack, init: RTCRtpTransceiverInit) {
    const sender = new FakeSender(track);
    this.transceivers.push({ track, init, sender });
    return { sender };
  }
  async createOffer(): Promise<RTCSessionDescriptionInit> {
    return { type: 'offer', sdp: `v=0 offer ${this.transceivers.map((t) => t.track.kind).join(',')}` };
  }
  async setLocalDescription(d: RTCSessionDescriptionInit) {
    this.localDescription = d;
  }
  async setRemoteDescription(d: RTCSessionDescriptionInit) {
    this.remoteDescription = d;
  }
  /** What the browser does when the connection's state changes. */
  setState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.dispatchEvent(new Event('connectionstatechange'));
  }
  async getStats() {
    return new Map<string, unknown>([
      ['O1', { id: 'O1', type: 'outbound-rtp', kind: 'video', rid: 'f', bytesSent: 300 }],
      ['O2', { id: 'O2', type: 'outbound-rtp', kind: 'video', rid: 'q', bytesSent: 100 }],
    ]);
  }
  close() {
    this.closed = true;
  }
}

interface PublishCall {
  sdp: string;
  source: ProducerSource;
  resolve: (res: SfuPublishResult) => void;
  reject: (err: Error) => void;
}

function setup(options: Partial<SfuPublisherOptions> = {}) {
  const pcs: FakePeerConnection[] = [];
  const publishes: PublishCall[] = [];
  const closes: string[] = [];
  const errors: Error[] = [];
  let n = 0;
  const publisher = new SfuPublisher({
    signal: {
      sfuPublish: (sdp, source) => new Promise((resolve, reject) => publishes.push({ sdp, source, resolve, reject })),
      sfuClose: async (id) => {
        closes.push(id);
        return null;
      },
    },
    iceServers: [],
    // A test double standing in for the browser class; only the members the publisher touches exist.
    createPeerConnection: () => {
      const pc = new FakePeerConnection();
      pcs.push(pc);
      return pc as unknown as RTCPeerConnection;
    },
    ...options,
  });
  publisher.on('error', (e) => errors.push(e));
  const answer = (call: PublishCall | undefined) => {
    assert.ok(call, 'a publish request was sent');
    n++;
    const kind = call.source === 'microphone' ? 'audio' : 'video';
    call.resolve({
      connectionId: `srv${n}`,
      answer: 'v=0 answer',
      producers: [{ id: `prod${n}`, peer: 'me', kind, source: call.source, layers: 1 }],
    });
  };
  return { publisher, pcs, publishes, closes, errors, answer };
}

/** A local track stand-in; `size` is what getSettings() reports (unknown without). */
const track = (kind: 'audio' | 'video', id: string, size?: { width: number; height: number }): LocalTrack => ({
  track: { kind, id, getSettings: () => ({ ...size }) } as MediaStreamTrack,
  stream: undefined,
});

/** Lets the publisher's promise chains run (everything here resolves in microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('cameraEncodings', () => {
  it('offers only the simulcast layers Chromium encodes at that size, keeping full resolution', () => {
    const rids = (w?: number, h?: number) => cameraEncodings(w, h)?.map((e) => [e.rid, e.scaleResolutionDownBy]);
    assert.deepEqual(rids(1280, 720), [
      ['q', 4],
      ['h', 2],
      ['f', undefined],
    ]);
    assert.deepEqual(rids(960, 540)?.length, 3);
    assert.deepEqual(rids(640, 480), [
      ['h', 2],
      ['f', undefined],
    ]);
    assert.deepEqual(rids(480, 270)?.length, 2);
    assert.equal(rids(320, 240), undefined, 'too small for simulcast');
    assert.equal(rids(undefined, undefined)?.length, 3, 'unknown size: all layers');
  });
});

describe('SfuPublisher', () => {
  it('publishes each slot on its own connection, the camera as three simulcast layers (low to high)', async () => {
    const { publisher, pcs, publishes, answer } = setup();
    publisher.setTrack('audio', track('audio', 'mic'));
    publisher.setTrack('video', track('video', 'cam'));
    assert.equal(pcs.length, 0, 'nothing before start()');
    publisher.start();
    publisher.setTrack('screen', track('video', 'scr'));
    await settle();
    assert.equal(pcs.length, 3);
    assert.deepEqual(
      publishes.map((p) => p.source),
      ['microphone', 'camera', 'screen'],
    );
    for (const pc of pcs) assert.equal(pc.transceivers.length, 1, 'one media track per connection');
    const [mic, cam, screen] = pcs.map((pc) => pc.transceivers[0]?.init);
    assert.equal(mic?.sendEncodings, undefined);
    assert.equal(screen?.sendEncodings, undefined);
    assert.deepEqual(
      cam?.sendEncodings?.map((e) => [e.rid, e.scaleResolutionDownBy, e.maxBitrate]),
      [
        ['q', 4, 150_000],
        ['h', 2, 500_000],
        ['f', undefined, 2_000_000],
      ],
    );
    for (const p of [...publishes]) answer(p);
    await settle();
    assert.ok(pcs.every((pc) => pc.remoteDescription?.sdp === 'v=0 answer'));
    const stats = await publisher.stats();
    assert.deepEqual(
      stats.map((s) => [s.slot, s.layers.map((l) => l.rid)]),
      [
        ['audio', ['f', 'q']],
        ['video', ['q', 'f']],
        ['screen', ['f', 'q']],
      ],
      'slots in order; simulcast layers sorted low to high',
    );
    publisher.close();
  });

  it('fits the layers to the camera size, and republishes when another camera needs other layers', async () => {
    const { publisher, pcs, publishes, closes, answer } = setup();
    publisher.start();
    publisher.setTrack('video', track('video', 'vga', { width: 640, height: 480 }));
    await settle();
    assert.deepEqual(
      pcs[0]?.transceivers[0]?.init.sendEncodings?.map((e) => e.rid),
      ['h', 'f'],
    );
    answer(publishes[0]);
    await settle();
    // Same size: the track is swapped in place.
    publisher.setTrack('video', track('video', 'vga2', { width: 640, height: 480 }));
    await settle();
    assert.equal(pcs.length, 1);
    // HD: three layers, so a new publication (the old one is released).
    publisher.setTrack('video', track('video', 'hd', { width: 1280, height: 720 }));
    await settle();
    assert.equal(pcs.length, 2);
    assert.equal(pcs[0]?.closed, true);
    assert.deepEqual(closes, ['srv1']);
    assert.deepEqual(
      pcs[1]?.transceivers[0]?.init.sendEncodings?.map((e) => e.rid),
      ['q', 'h', 'f'],
    );
    publisher.close();
  });

  it('sends a single camera encoding with simulcast: false', async () => {
    const { publisher, pcs } = setup({ simulcast: false });
    publisher.setTrack('video', track('video', 'cam'));
    publisher.start();
    await settle();
    assert.equal(pcs[0]?.transceivers[0]?.init.sendEncodings, undefined);
    publisher.close();
  });

  it('replaces a device without renegotiating, and closes only the withdrawn slot', async () => {
    const { publisher, pcs, publishes, closes, answer } = setup();
    publisher.start();
    publisher.setTrack('video', track('video', 'cam1'));
    publisher.setTrack('screen', track('video', 'scr'));
    await settle();
    for (const p of [...publishes]) answer(p);
    await settle();

    const cam2 = track('video', 'cam2');
    publisher.setTrack('video', cam2);
    await settle();
    assert.equal(pcs.length, 2, 'no new connection');
    assert.equal(pcs[0]?.transceivers[0]?.sender.track, cam2.track);

    publisher.setTrack('screen', null);
    assert.equal(pcs[1]?.closed, true);
    assert.deepEqual(closes, ['srv2'], 'the screen publication is closed on the server');
    assert.equal(pcs[0]?.closed, false, 'the camera keeps going');

    // Sharing again: a new connection.
    publisher.setTrack('screen', track('video', 'scr2'));
    await settle();
    assert.equal(pcs.length, 3);
    assert.equal(publishes[2]?.source, 'screen');
    publisher.close();
    assert.equal(pcs[0]?.closed, true);
    assert.deepEqual(closes, ['srv2', 'srv1'], 'the answered camera is released; the unanswered screen has no server side yet');
  });

  it('a slot withdrawn while its offer is in flight is released once the answer arrives', async () => {
    const { publisher, pcs, publishes, closes, answer } = setup();
    publisher.start();
    publisher.setTrack('screen', track('video', 'scr'));
    await settle();
    publisher.setTrack('screen', null);
    assert.equal(pcs[0]?.closed, true);
    assert.deepEqual(closes, []);
    answer(publishes[0]);
    await settle();
    assert.deepEqual(closes, ['srv1']);
    assert.equal(pcs[0]?.remoteDescription, null, 'the closed connection is not used');
    publisher.close();
  });

  it('reports a failed publish and tries again on the slot’s next change', async () => {
    const { publisher, pcs, publishes, errors, answer } = setup();
    publisher.start();
    publisher.setTrack('video', track('video', 'cam1'));
    await settle();
    publishes[0]?.reject(new Error('no grant'));
    await settle();
    assert.deepEqual(
      errors.map((e) => e.message),
      ['no grant'],
    );
    assert.equal(pcs[0]?.closed, true);
    publisher.setTrack('video', track('video', 'cam2'));
    await settle();
    assert.equal(pcs.length, 2);
    answer(publishes[1]);
    await settle();
    assert.equal(pcs[1]?.remoteDescription?.sdp, 'v=0 answer');
    publisher.close();
  });
});

describe('SfuPublisher recovery', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  /** A publisher with the camera published and answered (connection `pcs[0]`, server id srv1). */
  async function published(options: Partial<SfuPublisherOptions> = {}) {
    const env = setup(options);
    env.publisher.start();
    env.publisher.setTrack('video', track('video', 'cam1'));
    await settle();
    env.answer(env.publishes[0]);
    await settle();
    env.pcs[0]?.setState('connected');
    return env;
  }

  /** Advances the fake clock, then lets promise chains run. */
  async function tick(ms: number): Promise<void> {
    mock.timers.tick(ms);
    await settle();
  }

  it('a failed connection is released and the slot published again after 1 s, with its current track', async () => {
    const { publisher, pcs, publishes, closes, errors, answer } = await published();
    const cam2 = track('video', 'cam2');
    publisher.setTrack('video', cam2);
    await settle();
    pcs[0]?.setState('failed');
    assert.equal(pcs[0]?.closed, true);
    assert.deepEqual(closes, ['srv1'], 'the server side is released too');
    assert.match(errors[0]?.message ?? '', /camera failed; publishing it again/);
    await tick(999);
    assert.equal(pcs.length, 1, 'not before the backoff delay');
    await tick(1);
    assert.equal(pcs.length, 2);
    assert.equal(publishes[1]?.source, 'camera');
    assert.equal(pcs[1]?.transceivers[0]?.track, cam2.track, 'the current track');
    answer(publishes[1]);
    await settle();
    assert.equal(pcs[1]?.remoteDescription?.sdp, 'v=0 answer');
    assert.equal((await publisher.stats()).length, 1);
    publisher.close();
  });

  it('backs off 1, 2, 4 … 10 s while republishing fails, and starts over once a connection works', async () => {
    const { publisher, pcs, publishes, answer } = await published();
    pcs[0]?.setState('failed');
    const delays: number[] = [];
    // Each attempt's sfu_publish is refused (e.g. the signaling is reconnecting).
    for (let i = 1; i <= 5; i++) {
      let waited = 0;
      while (pcs.length === i) {
        await tick(500);
        waited += 500;
        assert.ok(waited <= 20_000, 'a retry came');
      }
      delays.push(waited);
      publishes[i]?.reject(new Error('timeout'));
      await settle();
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 10_000]);
    // The next attempt connects, then fails again: the delay is back at 1 s.
    await tick(10_000);
    assert.equal(pcs.length, 7);
    answer(publishes[6]);
    await settle();
    pcs[6]?.setState('connected');
    pcs[6]?.setState('failed');
    await tick(1000);
    assert.equal(pcs.length, 8);
    publisher.close();
  });

  it('a short disconnection is left alone; one longer than 5 s counts as failed', async () => {
    const { publisher, pcs, closes } = await published();
    pcs[0]?.setState('disconnected');
    await tick(4000);
    pcs[0]?.setState('connected');
    await tick(10_000);
    assert.equal(pcs.length, 1);
    assert.equal(pcs[0]?.closed, false);
    pcs[0]?.setState('disconnected');
    await tick(5000);
    assert.equal(pcs[0]?.closed, true);
    assert.deepEqual(closes, ['srv1']);
    await tick(1000);
    assert.equal(pcs.length, 2);
    publisher.close();
  });

  it('a connection closed by the browser, or producers closed by the server, are published again', async () => {
    const { publisher, pcs, publishes, closes, answer } = await published();
    pcs[0]?.setState('closed');
    await tick(1000);
    assert.equal(pcs.length, 2);
    answer(publishes[1]);
    await settle();
    pcs[1]?.setState('connected');
    // The server closed our publication (it announces our producer as closed).
    publisher.producerClosed('prod2');
    assert.equal(pcs[1]?.closed, true);
    assert.deepEqual(closes, ['srv1', 'srv2']);
    await tick(1000);
    assert.equal(pcs.length, 3);
    // Another producer's closing (or our own withdrawn one's) changes nothing.
    publisher.producerClosed('prod1');
    publisher.producerClosed('someone-else');
    assert.equal(pcs[2]?.closed, false);
    publisher.close();
  });

  it('no republish after close(), or when the track was withdrawn meanwhile', async () => {
    const a = await published();
    a.pcs[0]?.setState('failed');
    a.publisher.close();
    await tick(30_000);
    assert.equal(a.pcs.length, 1);

    const b = await published();
    b.pcs[0]?.setState('failed');
    b.publisher.setTrack('video', null);
    await tick(30_000);
    assert.equal(b.pcs.length, 1);
    // Published again by the user: a fresh publication, no leftover retry.
    b.publisher.setTrack('video', track('video', 'cam3'));
    await settle();
    assert.equal(b.pcs.length, 2);
    await tick(30_000);
    assert.equal(b.pcs.length, 2);
    b.publisher.close();
  });

  it('stops retrying on a refusal that cannot change (no publish grant)', async () => {
    const { publisher, pcs, publishes, errors } = await published();
    pcs[0]?.setState('failed');
    await tick(1000);
    publishes[1]?.reject(new ParleyError('FORBIDDEN'));
    await settle();
    await tick(60_000);
    assert.equal(pcs.length, 2);
    assert.ok(errors.at(-1) instanceof ParleyError);
    publisher.close();
  });

  it('a withdrawal we made ourselves is not mistaken for a loss', async () => {
    const { publisher, pcs, errors } = await published();
    publisher.setTrack('video', null);
    pcs[0]?.setState('closed');
    publisher.producerClosed('prod1');
    await tick(30_000);
    assert.equal(pcs.length, 1);
    assert.deepEqual(errors, []);
    publisher.close();
  });
});
