/**
 * App data through the SFU (`room.sendData` in SFU rooms): each member may open one data
 * connection (`sfu_data`) carrying the two negotiated channels of DATA_CHANNELS. The forwarder
 * validates every envelope (its header in place, never re-encoding the payload), checks the `data` grant, the size limits and the member's rate, writes
 * `from` itself (the sender's claim is discarded) and hands one copy to each addressed member (or
 * everyone else in the room). It never waits on a receiver: a receiver whose channel buffers more
 * than `slowReceiverBytes` loses that message (counted in `parley_sfu_data_dropped_total`),
 * others are unaffected. Reliable messages for a member whose data connection is not open yet
 * (a mesh→SFU switch in progress) wait in a short bounded queue. Refusals go back to the sender
 * as a control envelope on its reliable channel (docs/protocol.md, "Data channels").
 */
import {
  CLIENT_EVENT_SCHEMAS,
  DATA_CHANNELS,
  dataBytes,
  encodeDataEnvelope,
  forwardDataEnvelope,
  ParleyError,
  scanDataEnvelope,
  type DataEnvelope,
  type ErrorCode,
  type SfuDataResult,
} from '@parley-rtc/protocol';
import { isUtf8 } from 'node:buffer';
import type { DataChannel } from 'node-datachannel';
import { MediaPeer, type MediaPeerOptions } from '@parley-rtc/rtc/MediaPeer';
import type { Grants } from '../auth/grants.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import type { FeatureEventContext, Signaling } from '../signaling/Signaling.ts';
import type { Logger } from '../util/logger.ts';
import { TokenBucket } from './TokenBucket.ts';

export interface DataForwarderLimits {
  /** Messages per second one member may send (sustained; bursts up to twice that). */
  messagesPerSecond: number;
  /** Payload bytes per second one member may send (sustained; bursts up to twice that). */
  bytesPerSecond: number;
  /** A receiver whose channel buffers more than this loses further messages until it drains. */
  slowReceiverBytes: number;
  /** Reliable bytes kept for one member whose data connection is not open yet. */
  pendingBytes: number;
  /** How long such messages wait, in ms. */
  pendingMs: number;
}

export const DEFAULT_DATA_LIMITS: DataForwarderLimits = {
  messagesPerSecond: 2000,
  bytesPerSecond: 8 * 1024 * 1024,
  slowReceiverBytes: 4 * 1024 * 1024,
  pendingBytes: 1024 * 1024,
  pendingMs: 15_000,
};

export interface DataForwarderOptions {
  signaling: Signaling;
  connectionOptions: (connectionId: string) => MediaPeerOptions;
  metrics: Metrics;
  log: Logger;
  limits?: Partial<DataForwarderLimits>;
}

/** Why the forwarder dropped a message (the `reason` label of the drop counter). */
export type DataDropReason = 'invalid' | 'forbidden' | 'rate' | 'slow_receiver' | 'no_path';

interface DataLink {
  memberId: string;
  /** memberId as UTF-8: the `from` of everything it sends */
  fromBytes: Buffer;
  room: string;
  grants: Grants;
  peer: MediaPeer;
  reliable: DataChannel;
  lossy: DataChannel;
  open: boolean;
  messages: TokenBucket;
  bytes: TokenBucket;
  lastReportAt: number;
}

interface PendingQueue {
  items: Uint8Array[];
  bytes: number;
  timer: NodeJS.Timeout;
}

const DROPPED = 'parley_sfu_data_dropped_total';
const DROPPED_HELP = 'App-data messages the SFU did not forward, by reason.';
const FORWARDED = 'parley_sfu_data_forwarded_total';
const FORWARDED_HELP = 'App-data messages the SFU handed to a receiver, by channel.';

export class DataForwarder {
  readonly #opts: DataForwarderOptions;
  #limits: DataForwarderLimits;
  /** member id → its data connection */
  readonly #links = new Map<string, DataLink>();
  /** member id → reliable messages waiting for its data connection */
  readonly #pending = new Map<string, PendingQueue>();
  readonly #offMembership: () => void;
  #nextId = 0;
  #closed = false;
  readonly #forwarded = { reliable: 0, lossy: 0 };
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(opts: DataForwarderOptions) {
    this.#opts = opts;
    this.#limits = { ...DEFAULT_DATA_LIMITS, ...opts.limits };
    opts.signaling.registerClientEvent('sfu_data', CLIENT_EVENT_SCHEMAS.sfu_data, (ctx, req) => this.#open(ctx, req.sdp));
    this.#offMembership = opts.signaling.onMembership({
      left: (memberId) => this.#forget(memberId),
      restarted: (memberId) => this.#forget(memberId),
      grantsChanged: (memberId, _room, grants) => {
        const link = this.#links.get(memberId);
        if (link) link.grants = grants;
      },
    });
  }

  get limits(): Readonly<DataForwarderLimits> {
    return this.#limits;
  }

  /** Changes limits at run time (tests, benchmarks); rates apply to data connections opened afterwards. */
  setLimits(limits: Partial<DataForwarderLimits>): void {
    this.#limits = { ...this.#limits, ...limits };
  }

  /** Open data connections (diagnostics). */
  get size(): number {
    return this.#links.size;
  }

  /** Closes every data connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#offMembership();
    this.#flushForwarded();
    for (const id of [...this.#links.keys(), ...this.#pending.keys()]) this.#forget(id);
  }

  async #open(ctx: FeatureEventContext, offer: string): Promise<SfuDataResult> {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN', 'the server is shutting down');
    const connectionId = `data-${ctx.memberId}-${++this.#nextId}`;
    const peer = new MediaPeer(connectionId, this.#opts.connectionOptions(connectionId));
    let answer: string;
    try {
      answer = await peer.answer(offer);
    } catch (err) {
      peer.close();
      throw err;
    }
    if (this.#closed || !this.#opts.signaling.registry.room(ctx.room)?.members.has(ctx.memberId)) {
      peer.close();
      throw new ParleyError('NOT_IN_ROOM', 'the member left while its data connection was set up');
    }
    // Negotiated channels: created on both sides with the same ids, after the answer (so
    // libdatachannel does not renegotiate), before the client can connect.
    const { reliable, lossy } = DATA_CHANNELS;
    const l = this.#limits;
    const link: DataLink = {
      memberId: ctx.memberId,
      fromBytes: Buffer.from(ctx.memberId),
      room: ctx.room,
      grants: ctx.grants,
      peer,
      reliable: peer.createDataChannel(reliable.label, { negotiated: true, id: reliable.id }),
      lossy: peer.createDataChannel(lossy.label, { negotiated: true, id: lossy.id, unordered: true, maxRetransmits: 0 }),
      open: false,
      messages: new TokenBucket(l.messagesPerSecond, 2 * l.messagesPerSecond),
      bytes: new TokenBucket(l.bytesPerSecond, 2 * l.bytesPerSecond),
      lastReportAt: 0,
    };
    this.#links.get(ctx.memberId)?.peer.close(); // one per member: the new one replaces it
    this.#links.set(ctx.memberId, link);
    link.reliable.onOpen(() => {
      link.open = true;
      this.#flushPending(link);
    });
    link.reliable.onMessage((msg) => this.#onMessage(link, true, msg));
    link.lossy.onMessage((msg) => this.#onMessage(link, false, msg));
    peer.on('close', () => {
      if (this.#links.get(link.memberId) === link) this.#links.delete(link.memberId);
    });
    return { connectionId, answer };
  }

  #onMessage(link: DataLink, reliable: boolean, msg: string | Buffer | ArrayBuffer): void {
    // Hot path: the header is validated in place (scanDataEnvelope) and the forwarded copy is the
    // original bytes with `from` rewritten; a text payload is only checked to be UTF-8, never decoded.
    const bytes = dataBytes(msg);
    const head = bytes && scanDataEnvelope(bytes, reliable);
    if (!head || (!head.binary && !isUtf8(bytes.subarray(head.bodyAt)))) {
      return this.#refuse(link, undefined, 'invalid', 'INVALID_PAYLOAD', 'not a valid data envelope');
    }
    if (head.control) return; // clients send no control messages
    if (!link.grants.data) return this.#refuse(link, head, 'forbidden', 'FORBIDDEN', 'the token does not grant sending data');
    if (!link.messages.take(1) || !link.bytes.take(bytes.byteLength - head.bodyAt)) {
      return this.#refuse(link, head, 'rate', 'RATE_LIMITED', 'more data than the per-member rate allows');
    }
    const members = this.#opts.signaling.registry.room(link.room)?.members;
    if (!members) return;
    const out = forwardDataEnvelope(bytes, head, link.fromBytes);
    if (head.to.length > 0) {
      for (const id of head.to) if (id !== link.memberId && members.has(id)) this.#deliver(id, reliable, out);
    } else {
      for (const id of members.keys()) if (id !== link.memberId) this.#deliver(id, reliable, out);
    }
  }

  /** Hands one message to a member's channel, never waiting: a full buffer drops it. */
  #deliver(memberId: string, reliable: boolean, out: Uint8Array): void {
    const link = this.#links.get(memberId);
    if (!link?.open) {
      if (reliable) this.#queue(memberId, out);
      else this.#drop('no_path');
      return;
    }
    const channel = reliable ? link.reliable : link.lossy;
    if (channel.bufferedAmount() > this.#limits.slowReceiverBytes) return this.#drop('slow_receiver');
    try {
      channel.sendMessageBinary(out);
      this.#countForwarded(reliable);
    } catch {
      this.#drop('no_path'); // closed meanwhile
    }
  }

  /** Forwarded messages are counted here and added to the metric at most every 250 ms (a metric update per message costs more than the forwarding). */
  #countForwarded(reliable: boolean): void {
    if (reliable) this.#forwarded.reliable++;
    else this.#forwarded.lossy++;
    if (this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => this.#flushForwarded(), 250);
    this.#flushTimer.unref();
  }

  #flushForwarded(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    for (const channel of ['reliable', 'lossy'] as const) {
      const n = this.#forwarded[channel];
      this.#forwarded[channel] = 0;
      if (n > 0) this.#opts.metrics.inc(FORWARDED, FORWARDED_HELP, { channel }, n);
    }
  }

  #queue(memberId: string, out: Uint8Array): void {
    let q = this.#pending.get(memberId);
    if (q && q.bytes + out.byteLength > this.#limits.pendingBytes) return this.#drop('no_path');
    if (!q) {
      const timer = setTimeout(() => this.#pending.delete(memberId), this.#limits.pendingMs);
      timer.unref();
      this.#pending.set(memberId, (q = { items: [], bytes: 0, timer }));
    }
    q.items.push(out);
    q.bytes += out.byteLength;
  }

  #flushPending(link: DataLink): void {
    const q = this.#pending.get(link.memberId);
    if (!q) return;
    this.#pending.delete(link.memberId);
    clearTimeout(q.timer);
    for (const out of q.items) this.#deliver(link.memberId, true, out);
  }

  #refuse(
    link: DataLink,
    envelope: { epoch: number; seq: number } | undefined,
    reason: DataDropReason,
    code: ErrorCode,
    message: string,
  ): void {
    this.#drop(reason);
    // At most one report per 100 ms per member: a flood of refused messages gets one answer.
    const now = Date.now();
    if (now - link.lastReportAt < 100 || !link.open || link.reliable.bufferedAmount() > this.#limits.slowReceiverBytes) return;
    link.lastReportAt = now;
    const report = JSON.stringify({ code, message, epoch: envelope?.epoch ?? 0, seq: envelope?.seq ?? 0 });
    const control: DataEnvelope = { reliable: true, control: true, epoch: 0, seq: 0, topic: '', from: '', to: [], payload: report };
    try {
      link.reliable.sendMessageBinary(Buffer.from(encodeDataEnvelope(control)));
    } catch {
      // closed meanwhile
    }
  }

  #drop(reason: DataDropReason): void {
    this.#opts.metrics.inc(DROPPED, DROPPED_HELP, { reason });
  }

  #forget(memberId: string): void {
    const link = this.#links.get(memberId);
    this.#links.delete(memberId);
    link?.peer.close();
    const q = this.#pending.get(memberId);
    if (q) clearTimeout(q.timer);
    this.#pending.delete(memberId);
  }
}
