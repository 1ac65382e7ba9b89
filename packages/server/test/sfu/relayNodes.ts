/**
 * Two Parley nodes in one test process for SFU rooms across nodes: each a real server (Socket.IO on
 * port 0, its own SfuRooms), a RedisNodeBus on a shared throwaway redis-server and an SfuRelay whose
 * media links listen on 127.0.0.1. Plus node-datachannel members: a VP8 publisher and subscribers
 * that join a room over Socket.IO and record what they receive.
 */
import assert from 'node:assert/strict';
import type { SfuPublishResult, SfuSubscribeResult } from '@parley-rtc/protocol';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import type { MediaTrack } from '@parley-rtc/rtc/MediaTrack';
import { randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import type { RtcpPacket } from '@parley-rtc/rtc/rtp/rtcp';
import { isVp8KeyFrameStart } from '@parley-rtc/rtc/rtp/vp8';
import { startServer, request, data, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { sfuRoomsOf } from '../../src/sfu/feature.ts';
import { RedisNodeBus } from '../../src/sfu/relay/NodeBus.ts';
import { SfuRelay, type SfuRelayOptions } from '../../src/sfu/relay/SfuRelay.ts';
import type { RelayLink } from '../../src/sfu/relay/RelayLink.ts';
import type { SfuRooms } from '../../src/sfu/SfuRooms.ts';
import { PEER_OPTIONS, Vp8Pacer, withRetry, type IvfMedia } from '../media/clients.ts';

export const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;

export interface TestNode {
  id: string;
  server: TestServer;
  rooms: SfuRooms;
  bus: RedisNodeBus;
  relay: SfuRelay;
  /** Every media link this node opened, in order. */
  links: RelayLink[];
  close(): Promise<void>;
}

export async function startNode(id: string, redisUrl: string, relay: Partial<SfuRelayOptions> = {}): Promise<TestNode> {
  const server = await startServer({ media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 1 } });
  const rooms = sfuRoomsOf(server.app);
  assert.ok(rooms, 'the SFU feature runs');
  const bus = await RedisNodeBus.open({ nodeId: id, url: redisUrl });
  const sfuRelay = new SfuRelay({ nodeId: id, bus, rooms, bindAddress: '127.0.0.1', ...relay });
  const links: RelayLink[] = [];
  sfuRelay.on('link', (l) => links.push(l));
  return {
    id,
    server,
    rooms,
    bus,
    relay: sfuRelay,
    links,
    async close() {
      sfuRelay.close();
      await bus.close();
      await server.close();
    },
  };
}

/** Joins a room on a node over Socket.IO. */
export async function joinRoom(node: TestNode, room: string, name: string): Promise<TestSocket> {
  const socket = await node.server.connect();
  data(await request(socket, 'join', { room, name }));
  return socket;
}

/** A member publishing a VP8 clip through its node's SFU; counts the PLIs it gets. */
export class RoomPublisher {
  peer: MediaPeer | undefined;
  track!: MediaTrack;
  producerId = '';
  plis = 0;
  readonly feedback: RtcpPacket[] = [];
  readonly #pacer: Vp8Pacer;

  constructor(
    readonly socket: TestSocket,
    media: IvfMedia,
  ) {
    this.#pacer = new Vp8Pacer(media, randomSsrc(), { seq: 1000, ts: 5000 });
  }

  async publish(): Promise<void> {
    const res = await withRetry('relay publisher', async () => {
      this.peer?.close();
      const peer = (this.peer = new MediaPeer('relay-pub', PEER_OPTIONS));
      this.track = peer.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: VP8, payloadType: 96, ssrc: this.#pacer.ssrc });
      this.track.on('rtcp', (packets) => {
        this.feedback.push(...packets);
        if (this.feedback.length > 200) this.feedback.splice(0, this.feedback.length - 200);
        if (packets.some((p) => p.type === 'pli')) {
          this.plis++;
          this.#pacer.jumpToKeyFrame();
        }
      });
      const r = data(await request<SfuPublishResult>(this.socket, 'sfu_publish', { sdp: await peer.createOffer() }, 10_000));
      peer.setAnswer(r.answer);
      await peer.waitConnected(8000);
      return r;
    });
    this.producerId = res.producers[0]!.id;
    this.#pacer.start(this.track);
  }

  close(): void {
    this.#pacer.stop();
    this.peer?.close();
  }
}

/** A member subscribing to one producer through its node's SFU; checks continuity and records losses. */
export class RoomSubscriber {
  peer: MediaPeer | undefined;
  track!: MediaTrack;
  connectionId = '';
  consumerSsrc = 0;
  packets = 0;
  gaps = 0;
  firstIsKeyFrame: boolean | undefined;
  lastSeq: number | undefined;
  /** Sequence numbers skipped and not (yet) recovered by a retransmission. */
  readonly missing = new Set<number>();
  readonly recovered: number[] = [];

  constructor(
    readonly name: string,
    readonly socket: TestSocket,
  ) {}

  async subscribe(producerId: string): Promise<void> {
    await withRetry(this.name, async () => {
      this.peer?.close();
      if (this.connectionId) await request(this.socket, 'sfu_close', { connectionId: this.connectionId });
      const peer = (this.peer = new MediaPeer(this.name, PEER_OPTIONS));
      this.track = peer.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 100 });
      this.track.on('rtp', (p) => this.#onRtp(p));
      const r = data(
        await request<SfuSubscribeResult>(
          this.socket,
          'sfu_subscribe',
          { sdp: await peer.createOffer(), producerIds: [producerId] },
          10_000,
        ),
      );
      this.connectionId = r.connectionId;
      peer.setAnswer(r.answer);
      await peer.waitConnected(8000);
    });
  }

  #onRtp(p: Buffer): void {
    const seq = p.readUInt16BE(2);
    this.consumerSsrc = p.readUInt32BE(8);
    if (this.missing.delete(seq)) {
      this.recovered.push(seq);
      return;
    }
    if (this.lastSeq !== undefined && ((seq - this.lastSeq) & 0xffff) >= 0x8000) return; // a duplicate or late copy
    this.firstIsKeyFrame ??= isVp8KeyFrameStart(p.subarray(12));
    if (this.lastSeq !== undefined && seq !== ((this.lastSeq + 1) & 0xffff)) {
      this.gaps++;
      for (let s = (this.lastSeq + 1) & 0xffff, n = 0; s !== seq && n < 100; s = (s + 1) & 0xffff, n++) this.missing.add(s);
    }
    this.lastSeq = seq;
    this.packets++;
  }

  sendRtcp(buf: Buffer): void {
    assert.ok(this.track.sendRtcp(buf), 'RTCP sent');
  }

  close(): void {
    this.peer?.close();
  }
}
