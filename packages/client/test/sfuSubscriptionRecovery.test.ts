import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuProducerInfo, SfuPublishResult, SfuSubscribeResult } from '@parley-rtc/protocol';
import { SfuTransport } from '../src/SfuTransport.ts';
import type { RemoteTrack } from '../src/PeerLink.ts';

/**
 * The SFU transport's subscribing side against fake peer connections and a scripted signal: what
 * happens to the remote tracks when a subscribing connection is lost or a subscribe request fails.
 */

/** Node has no MediaStream; the transport only groups tracks in it. */
class FakeMediaStream {
  readonly #tracks = new Set<MediaStreamTrack>();
  addTrack(t: MediaStreamTrack): void {
    this.#tracks.add(t);
  }
  removeTrack(t: MediaStreamTrack): void {
    this.#tracks.delete(t);
  }
  getTracks(): MediaStreamTrack[] {
    return [...this.#tracks];
  }
}

let trackCount = 0;

class FakeSubscriberPc extends EventTarget {
  iceGatheringState: RTCIceGatheringState = 'complete';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  closed = false;
  readonly transceivers: Array<{ mid: string; receiver: { track: MediaStreamTrack } }> = [];
  addTransceiver(kind: 'audio' | 'video') {
    const track = { kind, id: `remote-${++trackCount}`, muted: false, addEventListener() {} } as unknown as MediaStreamTrack;
    const t = { mid: String(this.transceivers.length), receiver: { track } };
    this.transceivers.push(t);
    return t;
  }
  getTransceivers() {
    return this.transceivers;
  }
  async createOffer(): Promise<RTCSessionDescriptionInit> {
    return { type: 'offer', sdp: `v=0 recv ${this.transceivers.length}` };
  }
  async setLocalDescription(d: RTCSessionDescriptionInit) {
    this.localDescription = d;
  }
  async setRemoteDescription(d: RTCSessionDescriptionInit) {
    this.remoteDescription = d;
  }
  async getStats() {
    return new Map<string, unknown>();
  }
  setState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.dispatchEvent(new Event('connectionstatechange'));
  }
  close() {
    this.closed = true;
  }
}

interface SubscribeCall {
  producerIds: string[];
  resolve: (res: SfuSubscribeResult) => void;
  reject: (err: Error) => void;
}

const producer = (id: string, kind: 'audio' | 'video', peer = 'ann'): SfuProducerInfo => ({
  id,
  peer,
  kind,
  source: kind === 'audio' ? 'microphone' : 'camera',
  layers: 1,
});

function setup() {
  const pcs: FakeSubscriberPc[] = [];
  const subscribes: SubscribeCall[] = [];
  const closes: string[] = [];
  const errors: Error[] = [];
  const added: RemoteTrack[] = [];
  const removed: RemoteTrack[] = [];
  let n = 0;
  const transport = new SfuTransport({
    signal: {
      sfuPublish: () => new Promise<SfuPublishResult>(() => undefined),
      sfuSubscribe: (_sdp, producerIds) => new Promise((resolve, reject) => subscribes.push({ producerIds, resolve, reject })),
      sfuClose: async (id) => {
        closes.push(id);
        return null;
      },
      sfuPause: async () => null,
      sfuVideoSize: async () => null,
    },
    selfId: 'me',
    iceServers: [],
    batchDelayMs: 0,
    // A test double standing in for the browser class; only the members the transport touches exist.
    createPeerConnection: () => {
      const pc = new FakeSubscriberPc();
      pcs.push(pc);
      return pc as unknown as RTCPeerConnection;
    },
  });
  transport.on('error', (e) => errors.push(e));
  transport.on('track', (t) => added.push(t));
  transport.on('trackRemoved', (t) => removed.push(t));
  /** Answers a subscribe request: each requested producer on the section of the same index. */
  const answer = (call: SubscribeCall | undefined) => {
    assert.ok(call, 'a subscribe request was sent');
    n++;
    call.resolve({
      connectionId: `sub${n}`,
      answer: 'v=0 answer',
      consumers: call.producerIds.map((producerId, i) => ({
        id: `c${n}-${i}`,
        producerId,
        kind: producerId.startsWith('a') ? 'audio' : 'video',
        mid: String(i),
      })),
    });
  };
  return { transport, pcs, subscribes, closes, errors, added, removed, answer };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function tick(ms: number): Promise<void> {
  mock.timers.tick(ms);
  await settle();
}

describe('SfuTransport subscription recovery', () => {
  const realMediaStream = globalThis.MediaStream;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
    globalThis.MediaStream = FakeMediaStream as unknown as typeof MediaStream;
  });
  afterEach(() => {
    mock.timers.reset();
    globalThis.MediaStream = realMediaStream;
  });

  /** Ann's microphone and camera, subscribed on `pcs[0]` (server id sub1), connected. */
  async function subscribed() {
    const env = setup();
    env.transport.addProducer(producer('a1', 'audio'));
    env.transport.addProducer(producer('v1', 'video'));
    env.transport.start();
    await tick(0);
    assert.deepEqual(env.subscribes[0]?.producerIds, ['a1', 'v1'], 'one batch');
    env.answer(env.subscribes[0]);
    await settle();
    env.pcs[0]?.setState('connected');
    assert.equal(env.added.length, 2);
    return env;
  }

  it('a failed subscription removes its tracks and subscribes the producers that still exist again', async () => {
    const { transport, pcs, subscribes, closes, errors, added, removed, answer } = await subscribed();
    const states: string[] = [];
    transport.on('connectionState', (peer, state) => states.push(`${peer}:${state}`));
    pcs[0]?.setState('failed');
    assert.deepEqual(states, ['ann:failed']);
    assert.equal(pcs[0]?.closed, true);
    assert.deepEqual(closes, ['sub1']);
    assert.deepEqual(removed, added, 'both old tracks are gone');
    assert.equal(transport.remoteTracks.length, 0);
    assert.match(errors[0]?.message ?? '', /subscribing connection failed/);
    // Ann's microphone closes meanwhile.
    transport.removeProducer('a1');
    await tick(999);
    assert.equal(subscribes.length, 1, 'not before the backoff delay');
    await tick(1);
    assert.deepEqual(subscribes[1]?.producerIds, ['v1'], 'only what still exists');
    answer(subscribes[1]);
    await settle();
    assert.equal(added.length, 3);
    const fresh = added[2];
    assert.equal(fresh?.peerId, 'ann');
    assert.equal(fresh?.source, 'camera');
    assert.notEqual(fresh?.track, added[1]?.track, 'a new track');
    assert.deepEqual(transport.remoteTracks, [fresh]);
    assert.equal(transport.connectionStateOf('ann'), 'new');
    pcs[1]?.setState('connected');
    assert.equal(transport.connectionStateOf('ann'), 'connected');
    transport.close();
  });

  it('a subscription disconnected for more than 5 s counts as failed; a shorter one does not', async () => {
    const { transport, pcs, subscribes, removed } = await subscribed();
    pcs[0]?.setState('disconnected');
    await tick(4999);
    pcs[0]?.setState('connected');
    await tick(20_000);
    assert.equal(removed.length, 0);
    pcs[0]?.setState('disconnected');
    await tick(5000);
    assert.equal(removed.length, 2);
    await tick(1000);
    assert.deepEqual(subscribes[1]?.producerIds, ['a1', 'v1']);
    transport.close();
  });

  it('backs off 1, 2, 4 … 10 s while subscribing fails, and starts over once a subscription connects', async () => {
    const { transport, pcs, subscribes, answer } = await subscribed();
    pcs[0]?.setState('failed');
    const delays: number[] = [];
    for (let i = 1; i <= 5; i++) {
      let waited = 0;
      while (subscribes.length === i) {
        await tick(500);
        waited += 500;
        assert.ok(waited <= 20_000, 'a retry came');
      }
      delays.push(waited);
      subscribes[i]?.reject(new Error('timeout'));
      await settle();
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 10_000]);
    await tick(10_000);
    answer(subscribes[6]);
    await settle();
    pcs[6]?.setState('connected');
    pcs[6]?.setState('closed');
    await tick(1000);
    assert.equal(subscribes.length, 8, 'back to 1 s after a connection worked');
    transport.close();
  });

  it('close() stops recovery: no timer fires a new subscription', async () => {
    const { transport, pcs, subscribes, removed } = await subscribed();
    pcs[0]?.setState('failed');
    transport.close();
    await tick(60_000);
    assert.equal(subscribes.length, 1);
    assert.equal(removed.length, 2, 'the tracks were removed once');
  });

  it('a subscription we close ourselves (its producers closed) is not recovered', async () => {
    const { transport, pcs, subscribes, errors } = await subscribed();
    transport.removeProducer('a1');
    transport.removeProducer('v1');
    assert.equal(pcs[0]?.closed, true);
    pcs[0]?.setState('closed');
    await tick(60_000);
    assert.equal(subscribes.length, 1);
    assert.deepEqual(errors, []);
    transport.close();
  });
});
