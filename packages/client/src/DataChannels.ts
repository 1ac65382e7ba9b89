import {
  DATA_CHANNELS,
  LIMITS,
  ParleyError,
  dataBytes,
  dataPayloadBytes,
  dataPayloadLimit,
  decodeDataEnvelope,
  encodeDataEnvelope,
  parseDataErrorReport,
  type DataEnvelope,
} from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import { ClientError } from './errors.ts';

/** One app-data message as the `data` event gives it. */
export interface DataMessage {
  /** The sender's member id (set by the receiver in mesh, by the server through the SFU). */
  from: string;
  topic: string;
  payload: string | Uint8Array;
  reliable: boolean;
}

/** Options of `room.sendData`. */
export interface SendDataOptions {
  /** Ordered and retransmitted (default true); false: unordered, no retransmits (latest-state data). */
  reliable?: boolean;
  /** Member ids to deliver to; default everyone else in the room. */
  to?: string[];
  /** A label for the app to route messages by (at most LIMITS.dataTopicBytes of UTF-8). */
  topic?: string;
}

/** The two data channels of one path: a mesh link or our connection to the SFU. @internal */
export interface DataChannelPair {
  reliable: RTCDataChannel;
  lossy: RTCDataChannel;
}

/** Where paths register their channels (PeerLink, SfuDataLink). @internal */
export interface DataPathSink {
  /** `key`: the remote member id for a mesh link, `SFU_PATH` for the SFU. */
  attach(key: string, pair: DataChannelPair): void;
  detach(key: string, pair: DataChannelPair): void;
}

/** @internal */
export const SFU_PATH = '@sfu';

/** Creates a path's two channels on a connection: negotiated, fixed ids (glare cannot make two). @internal */
export function createDataChannelPair(pc: RTCPeerConnection): DataChannelPair {
  const { reliable, lossy } = DATA_CHANNELS;
  return {
    reliable: pc.createDataChannel(reliable.label, { negotiated: true, id: reliable.id, ordered: true }),
    lossy: pc.createDataChannel(lossy.label, { negotiated: true, id: lossy.id, ordered: false, maxRetransmits: 0 }),
  };
}

/** @internal */
export interface DataChannelsEvents {
  data: [message: DataMessage];
  /** Whether data can reach this member (a mesh channel or the SFU's is open) changed. */
  path: [memberId: string, open: boolean];
  /** A refusal reported by the server (ParleyError). */
  error: [error: Error];
}

/** @internal */
export interface DataChannelsOptions {
  /** Our member id, and the other members in the room now. */
  selfId(): string | undefined;
  members(): string[];
  /** Backpressure: a send waits while a channel buffers more than this (default 1 MiB). */
  highWaterMark?: number;
  /** Reliable messages kept for members no path reaches yet, in bytes (default 4 MiB). */
  pendingLimit?: number;
}

const DEDUP_WINDOW = 65_536;
/** How long, and how many bytes of, sent reliable messages are kept to resend when their path closes. */
const HISTORY_MS = 5000;
const HISTORY_BYTES = 8 * 1024 * 1024;
interface Pending {
  bytes: Uint8Array;
  envelope: DataEnvelope;
  to: Set<string>;
}
interface Sent extends Pending {
  at: number;
  /** The paths it went out on (member ids for mesh links, SFU_PATH). */
  via: Set<string>;
}

/**
 * App data over RTCDataChannels (`room.sendData`, the `data` event). Each path — a mesh link per
 * member, or our one connection to the SFU — registers its reliable and lossy channel here. A
 * message goes out on every open path that reaches its recipients (during a mesh↔SFU handover
 * both may), and receivers drop duplicates by the sender's (epoch, seq); reliable messages for
 * members no path reaches yet wait (bounded) until one opens. Knows no sockets or rooms.
 * @internal
 */
export class DataChannels extends Emitter<DataChannelsEvents> implements DataPathSink {
  readonly #opts: DataChannelsOptions;
  readonly #paths = new Map<string, DataChannelPair>();
  readonly #epoch = (Math.random() * 0x1_0000_0000) >>> 0;
  #seq = 0;
  #allowed = true;
  readonly #seen = new Map<string, { max: number; ids: Set<number> }>();
  #pending: Pending[] = [];
  #pendingBytes = 0;
  #history: Sent[] = [];
  #historyBytes = 0;
  #closed = false;

  constructor(options: DataChannelsOptions) {
    super();
    this.#opts = options;
  }

  /** The `data` grant (the server refuses data without it; we refuse before sending). */
  setAllowed(allowed: boolean): void {
    this.#allowed = allowed;
  }

  /** Whether data reaches `memberId` now (omitted: every member in the room). */
  pathOpen(memberId?: string): boolean {
    if (this.#isOpen(SFU_PATH)) return true;
    if (memberId !== undefined) return this.#isOpen(memberId);
    return this.#opts.members().every((id) => this.#isOpen(id));
  }

  attach(key: string, pair: DataChannelPair): void {
    if (this.#closed) return;
    this.#paths.set(key, pair);
    for (const [reliable, channel] of [
      [true, pair.reliable],
      [false, pair.lossy],
    ] as const) {
      channel.binaryType = 'arraybuffer';
      channel.bufferedAmountLowThreshold = this.#highWater() / 4;
      channel.onmessage = (event: MessageEvent<unknown>) => this.#receive(key, reliable, event.data);
    }
    pair.reliable.onopen = () => this.#opened(key);
    pair.reliable.onclose = () => this.detach(key, pair);
    if (this.#isOpen(key)) this.#opened(key);
  }

  detach(key: string, pair: DataChannelPair): void {
    if (this.#paths.get(key) !== pair) return;
    this.#paths.delete(key);
    for (const channel of [pair.reliable, pair.lossy]) {
      channel.onmessage = null;
      channel.onopen = null;
      channel.onclose = null;
    }
    if (!this.#closed) this.#recover(key);
    if (key === SFU_PATH) for (const id of this.#opts.members()) this.emit('path', id, this.pathOpen(id));
    else this.emit('path', key, this.pathOpen(key));
  }

  /** A member left: nothing more waits for it. */
  forget(memberId: string): void {
    for (const key of [...this.#seen.keys()]) if (key.split('/')[1] === memberId) this.#seen.delete(key);
    for (const p of this.#pending) p.to.delete(memberId);
    this.#prunePending();
  }

  /**
   * Sends app data; resolves once handed to the channel(s). Waits while a channel buffers more
   * than the high-water mark, so `for (…) await room.sendData(…)` cannot exhaust memory.
   * Rejects with ParleyError PAYLOAD_TOO_LARGE (over LIMITS.dataReliableBytes / dataLossyBytes,
   * a topic or recipient list over its limit), FORBIDDEN (no `data` grant), RATE_LIMITED (too
   * much reliable data waits for a path), or ClientError `closed`.
   */
  async send(payload: string | Uint8Array, options: SendDataOptions = {}): Promise<void> {
    if (this.#closed) throw new ClientError('closed', 'the room is closed');
    const reliable = options.reliable ?? true;
    const topic = options.topic ?? '';
    const self = this.#opts.selfId();
    if (self === undefined) throw new ClientError('disconnected', 'not connected to a room');
    if (!this.#allowed) throw new ParleyError('FORBIDDEN', 'the token does not grant sending data');
    const size = dataPayloadBytes(payload);
    const limit = dataPayloadLimit(reliable);
    if (size > limit)
      throw new ParleyError('PAYLOAD_TOO_LARGE', `${size} bytes of ${reliable ? 'reliable' : 'lossy'} data (limit ${limit})`);
    if (dataPayloadBytes(topic) > LIMITS.dataTopicBytes) throw new ParleyError('PAYLOAD_TOO_LARGE', 'the topic is too long');
    const to = options.to ? [...new Set(options.to)].filter((id) => id !== self) : undefined;
    if (to && to.length > LIMITS.dataRecipients)
      throw new ParleyError('PAYLOAD_TOO_LARGE', `more than ${LIMITS.dataRecipients} recipients`);
    if (to?.length === 0) return;
    const envelope: DataEnvelope = {
      reliable,
      control: false,
      epoch: this.#epoch,
      seq: this.#seq++ >>> 0,
      topic,
      from: '',
      to: to ?? [],
      payload,
    };
    const recipients = new Set(to ?? this.#opts.members());
    // Mesh links: each recipient's own copy, without the recipient list (the link is the address).
    const direct = encodeDataEnvelope({ ...envelope, to: [] });
    const routed: Array<[RTCDataChannel, Uint8Array]> = [];
    const unreached = new Set<string>();
    for (const id of recipients) {
      const channel = this.#channel(id, reliable);
      if (channel) routed.push([channel, direct]);
      else unreached.add(id);
    }
    const sfu = this.#channel(SFU_PATH, reliable);
    if (sfu) {
      routed.push([sfu, encodeDataEnvelope(envelope)]);
      unreached.clear();
    }
    if (unreached.size > 0 && reliable) this.#queue({ bytes: direct, envelope, to: unreached });
    for (const [channel] of routed) await this.#drain(channel);
    if (reliable)
      this.#remember({ bytes: direct, envelope, to: recipients, at: performance.now(), via: new Set(routed.map(([c]) => this.#keyOf(c))) });
    for (const [channel, bytes] of routed) this.#write(channel, bytes);
  }

  /** Drops every path, waiting message and listener. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [key, pair] of [...this.#paths]) this.detach(key, pair);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#history = [];
    this.#historyBytes = 0;
    this.removeAllListeners();
  }

  #keyOf(channel: RTCDataChannel): string {
    for (const [key, pair] of this.#paths) if (pair.reliable === channel) return key;
    return '';
  }

  #remember(sent: Sent): void {
    this.#history.push(sent);
    this.#historyBytes += sent.bytes.byteLength;
    const oldest = performance.now() - HISTORY_MS;
    while (this.#history.length > 0 && (this.#history[0]!.at < oldest || this.#historyBytes > HISTORY_BYTES)) {
      this.#historyBytes -= this.#history.shift()!.bytes.byteLength;
    }
  }

  /**
   * A path closed: what it carried lately may not have arrived (a connection closed with data in
   * its buffers). Those messages go again on the paths open now (or wait for one); receivers drop
   * the copies they already have.
   */
  #recover(closed: string): void {
    const oldest = performance.now() - HISTORY_MS;
    for (const sent of this.#history) {
      if (sent.at < oldest || !sent.via.delete(closed)) continue;
      const lost = closed === SFU_PATH ? [...sent.to].filter((id) => !sent.via.has(id)) : sent.via.has(SFU_PATH) ? [] : [closed];
      const unreached = new Set<string>();
      for (const id of lost) {
        const channel = this.#channel(id, true);
        if (channel) {
          this.#write(channel, sent.bytes);
          sent.via.add(id);
        } else if (this.#opts.members().includes(id)) unreached.add(id);
      }
      const sfu = unreached.size > 0 ? this.#channel(SFU_PATH, true) : undefined;
      if (sfu) {
        this.#write(sfu, encodeDataEnvelope({ ...sent.envelope, to: [...unreached] }));
        sent.via.add(SFU_PATH);
      } else if (unreached.size > 0) {
        try {
          this.#queue({ bytes: sent.bytes, envelope: sent.envelope, to: unreached });
        } catch {
          // Over the waiting limit: this one is lost (the app sent far more than a path holds).
        }
      }
    }
  }

  #highWater(): number {
    return this.#opts.highWaterMark ?? 1024 * 1024;
  }

  #isOpen(key: string): boolean {
    return this.#paths.get(key)?.reliable.readyState === 'open';
  }

  #channel(key: string, reliable: boolean): RTCDataChannel | undefined {
    const pair = this.#paths.get(key);
    const channel = reliable ? pair?.reliable : pair?.lossy;
    return channel?.readyState === 'open' ? channel : undefined;
  }

  #write(channel: RTCDataChannel, bytes: Uint8Array): void {
    if (channel.readyState !== 'open') return;
    try {
      channel.send(bytes as Uint8Array<ArrayBuffer>);
    } catch {
      // The channel closed between the check and the send: the path is gone (see detach).
    }
  }

  /** Waits until the channel buffers at most the high-water mark (or closes). */
  async #drain(channel: RTCDataChannel): Promise<void> {
    while (channel.readyState === 'open' && channel.bufferedAmount > this.#highWater() && !this.#closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          channel.removeEventListener('bufferedamountlow', done);
          channel.removeEventListener('close', done);
          resolve();
        };
        channel.addEventListener('bufferedamountlow', done);
        channel.addEventListener('close', done);
      });
    }
  }

  #queue(p: Pending): void {
    const limit = this.#opts.pendingLimit ?? 4 * 1024 * 1024;
    if (this.#pendingBytes + p.bytes.byteLength > limit) {
      throw new ParleyError('RATE_LIMITED', 'too much data waits for a data channel to open');
    }
    this.#pending.push(p);
    this.#pendingBytes += p.bytes.byteLength;
  }

  #opened(key: string): void {
    if (key === SFU_PATH) {
      // The SFU reaches everyone: send what waits, addressed to whom it still waits for.
      const sfu = this.#channel(SFU_PATH, true);
      for (const p of sfu ? this.#pending : []) this.#write(sfu!, encodeDataEnvelope({ ...p.envelope, to: [...p.to] }));
      if (sfu) for (const p of this.#pending) p.to.clear();
      for (const id of this.#opts.members()) this.emit('path', id, true);
    } else {
      const channel = this.#channel(key, true);
      for (const p of this.#pending) {
        if (channel && p.to.delete(key)) this.#write(channel, p.bytes);
      }
      this.emit('path', key, true);
    }
    this.#prunePending();
  }

  #prunePending(): void {
    this.#pending = this.#pending.filter((p) => p.to.size > 0);
    this.#pendingBytes = this.#pending.reduce((n, p) => n + p.bytes.byteLength, 0);
  }

  #receive(key: string, reliable: boolean, data: unknown): void {
    const bytes = dataBytes(data);
    const envelope = bytes && decodeDataEnvelope(bytes, reliable);
    if (!envelope || this.#closed) return;
    if (envelope.control) {
      const report = key === SFU_PATH ? parseDataErrorReport(envelope.payload) : undefined;
      if (report) this.emit('error', new ParleyError(report.code, `data message ${report.seq} refused: ${report.message}`));
      return;
    }
    // In mesh the link says who sent it; through the SFU the server wrote `from`.
    const from = key === SFU_PATH ? envelope.from : key;
    if (!from || from === this.#opts.selfId() || this.#duplicate(`${reliable ? 'r' : 'l'}/${from}/${envelope.epoch}`, envelope.seq)) return;
    this.emit('data', { from, topic: envelope.topic, payload: envelope.payload, reliable });
  }

  /** Whether (sender, epoch, seq) was delivered already; remembers the last DEDUP_WINDOW numbers. */
  #duplicate(sender: string, seq: number): boolean {
    let seen = this.#seen.get(sender);
    if (!seen) this.#seen.set(sender, (seen = { max: seq, ids: new Set() }));
    if (seen.ids.has(seq) || seq + DEDUP_WINDOW < seen.max) return true;
    seen.ids.add(seq);
    if (seq > seen.max) seen.max = seq;
    if (seen.ids.size > 2 * DEDUP_WINDOW) for (const id of seen.ids) if (id + DEDUP_WINDOW < seen.max) seen.ids.delete(id);
    return false;
  }
}
