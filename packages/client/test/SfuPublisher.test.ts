import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaSource as ProducerSource, SfuPublishResult } from '@parley/protocol';
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

class FakePeerConnection {
  iceGatheringState: RTCIceGatheringState = 'complete';
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
  addEventListener() {}
  removeEventListener() {}
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
    call.resolve({ peerId: `srv${++n}`, answer: 'v=0 answer', producers: [] });
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
