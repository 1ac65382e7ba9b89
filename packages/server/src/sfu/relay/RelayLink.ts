/**
 * The media link between this node and one other node of the cluster: plain RTP/RTCP over one UDP
 * socket per node pair (docs/sfu.md, "Rooms across nodes"). It carries every track relayed between
 * the two nodes, in both directions, each once whatever the number of subscribers behind it.
 *
 * Outgoing tracks (`addOutgoing`) are written by a relay Consumer of the near router (one per relayed
 * track, with its own SSRC on the link); incoming tracks (`addIncoming`) feed a remote Producer of the
 * far router. RTCP is routed by SSRC: PLI/NACK/REMB/RR from the far node go to the outgoing track's
 * consumer (so they reach the publisher exactly as a local subscriber's would), sender reports to the
 * incoming track's producer (lip sync). Packets lost on the link are NACKed at once by the receiving
 * side and answered from the near node's retransmission buffer; copies that arrive twice are dropped.
 *
 * Only datagrams from the far node's announced address are accepted (the control bus tells it); the
 * link is meant for a private network (no SRTP: see docs/sfu.md).
 */
import { createSocket, type Socket } from 'node:dgram';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { tryParseRtcp, writeNack, type RtcpPacket } from '@parley-rtc/rtc/rtp/rtcp';
import { seqDelta } from '@parley-rtc/rtc/rtp/rtp';
import type { RtpOutput } from '../Consumer.ts';
import type { Producer } from '../Producer.ts';

export type RelayLinkCloseReason =
  /** Its owner closed it. */
  | 'close'
  /** No track is relayed over it any more, in either direction. */
  | 'idle'
  /** Its socket failed. */
  | 'socketerror'
  /** The far node died (`SfuRelay.nodeDown`). */
  | 'nodedown';

export interface RelayEndpoint {
  address: string;
  port: number;
}

export interface RelayLinkStats {
  rtpSent: number;
  rtpReceived: number;
  rtcpSent: number;
  rtcpReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Datagrams from another address than the far node's link. */
  droppedForeign: number;
  /** RTP/RTCP for an SSRC this link does not carry (a track closed meanwhile), malformed RTCP. */
  droppedUnknown: number;
  /** Second copies (a retransmission of a packet that had arrived after all). */
  droppedDuplicate: number;
  /** Sequence numbers NACKed because they went missing on the link. */
  nackedOnLink: number;
  /** Subscribers' NACKs for packets not here, passed on to the near node. */
  nacksRelayed: number;
}

export interface RelayLinkEvents {
  close: [reason: RelayLinkCloseReason];
}

/** The far node's feedback about one outgoing track (the relay Consumer takes it). */
export type FeedbackHandler = (packets: readonly RtcpPacket[]) => void;

interface Incoming {
  producer: Producer;
  localSsrc: number;
  highest: number | undefined;
  packets: number;
  /** Sequence numbers asked for on behalf of subscribers → when (one request per 100 ms each). */
  asked: Map<number, number>;
}

interface Outgoing {
  onFeedback: FeedbackHandler;
  packets: number;
}

/** At most this many sequence numbers are NACKed for one gap (a larger jump is a restart). */
const MAX_GAP = 64;
/** A sequence number is asked for again on a subscriber's behalf at most this often. */
const RETRY_MS = 100;
const SOCKET_BUFFER = 4 * 1024 * 1024;

export class RelayLink extends TypedEmitter<RelayLinkEvents> {
  readonly remoteNode: string;
  readonly stats: RelayLinkStats = {
    rtpSent: 0,
    rtpReceived: 0,
    rtcpSent: 0,
    rtcpReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    droppedForeign: 0,
    droppedUnknown: 0,
    droppedDuplicate: 0,
    nackedOnLink: 0,
    nacksRelayed: 0,
  };
  readonly #socket: Socket;
  readonly #local: RelayEndpoint;
  #remote: RelayEndpoint | undefined;
  readonly #incoming = new Map<number, Incoming>();
  readonly #outgoing = new Map<number, Outgoing>();
  #closeReason: RelayLinkCloseReason | undefined;

  private constructor(remoteNode: string, socket: Socket) {
    super();
    this.remoteNode = remoteNode;
    this.#socket = socket;
    const a = socket.address();
    this.#local = { address: a.address, port: a.port };
    socket.on('message', (msg, rinfo) => this.#receive(msg, rinfo.address, rinfo.port));
    socket.on('error', () => this.close('socketerror'));
  }

  /** Binds the link's socket (port 0 unless given) on this node's relay address. */
  static async open(remoteNode: string, bindAddress: string, port = 0): Promise<RelayLink> {
    const socket = createSocket({ type: bindAddress.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, bindAddress, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // one socket carries every track between two nodes: room for key-frame bursts (the kernel caps it at rmem_max/wmem_max)
    try {
      socket.setRecvBufferSize(SOCKET_BUFFER);
      socket.setSendBufferSize(SOCKET_BUFFER);
    } catch {
      // not fatal: the default buffers only make loss (and link NACKs) likelier under bursts
    }
    return new RelayLink(remoteNode, socket);
  }

  /** Where the far node sends to (told to it over the control bus). */
  get local(): RelayEndpoint {
    return this.#local;
  }

  get remote(): RelayEndpoint | undefined {
    return this.#remote;
  }

  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Tracks relayed now: to the far node and from it. */
  get tracks(): { outgoing: number; incoming: number } {
    return { outgoing: this.#outgoing.size, incoming: this.#incoming.size };
  }

  /** RTP packets sent (outgoing) or received (incoming) on one track of the link. */
  trackPackets(ssrc: number): number {
    return this.#outgoing.get(ssrc >>> 0)?.packets ?? this.#incoming.get(ssrc >>> 0)?.packets ?? 0;
  }

  /** The far node's link address (from its latest control message; it may have reopened its link). */
  setRemote(remote: RelayEndpoint): void {
    this.#remote = { address: remote.address, port: remote.port };
  }

  /** Whether this SSRC is free on the link (both directions share the SSRC space). */
  ssrcFree(ssrc: number): boolean {
    return !this.#outgoing.has(ssrc >>> 0) && !this.#incoming.has(ssrc >>> 0);
  }

  /** A track to the far node: what its relay Consumer writes to; its feedback goes to `onFeedback`. */
  addOutgoing(ssrc: number, onFeedback: FeedbackHandler): RtpOutput & { close(): void } {
    const key = ssrc >>> 0;
    const entry: Outgoing = { onFeedback, packets: 0 };
    this.#outgoing.set(key, entry);
    const open = (): boolean => !this.closed && this.#outgoing.get(key) === entry && this.#remote !== undefined;
    return {
      ssrc: key,
      get isOpen() {
        return open();
      },
      sendRtp: (packet) => {
        if (!open() || !this.#send(packet)) return false;
        entry.packets++;
        this.stats.rtpSent++;
        return true;
      },
      sendRtcp: (packet) => open() && this.sendRtcp(packet),
      close: () => {
        if (this.#outgoing.get(key) === entry) this.#outgoing.delete(key);
      },
    };
  }

  /** A track from the far node (its SSRC on the link) feeding a remote Producer; `localSsrc` signs our feedback. */
  addIncoming(ssrc: number, producer: Producer, localSsrc: number): () => void {
    const key = ssrc >>> 0;
    const entry: Incoming = { producer, localSsrc, highest: undefined, packets: 0, asked: new Map() };
    this.#incoming.set(key, entry);
    return () => {
      if (this.#incoming.get(key) === entry) this.#incoming.delete(key);
    };
  }

  /**
   * A subscriber here NACKed a packet of an incoming track that never arrived (its copy was lost on
   * the link and the first NACK did not bring it): ask the near node again, at most once per 100 ms.
   */
  requestRetransmit(ssrc: number, seq: number): void {
    const entry = this.#incoming.get(ssrc >>> 0);
    if (!entry) return;
    const now = performance.now();
    if (now - (entry.asked.get(seq) ?? -Infinity) < RETRY_MS) return;
    remember(entry, seq, now);
    this.stats.nacksRelayed++;
    this.sendRtcp(writeNack(entry.localSsrc, ssrc >>> 0, [seq]));
  }

  /** Sends RTCP to the far node (feedback for an incoming track, SR for an outgoing one). */
  sendRtcp(packet: Buffer): boolean {
    if (!this.#send(packet)) return false;
    this.stats.rtcpSent++;
    return true;
  }

  #send(packet: Buffer): boolean {
    const remote = this.#remote;
    if (this.closed || !remote) return false;
    // dgram sends after a tick (address lookup), and the SFU restores the header once forward() returns: copy
    const copy = Buffer.allocUnsafe(packet.length);
    packet.copy(copy);
    this.stats.bytesSent += copy.length;
    this.#socket.send(copy, remote.port, remote.address);
    return true;
  }

  #receive(msg: Buffer, address: string, port: number): void {
    const remote = this.#remote;
    if (!remote || remote.port !== port || remote.address !== address) {
      this.stats.droppedForeign++;
      return;
    }
    if (msg.length < 8 || msg[0]! >> 6 !== 2) {
      this.stats.droppedUnknown++;
      return;
    }
    this.stats.bytesReceived += msg.length;
    const pt = msg[1]!;
    if (pt >= 192 && pt <= 223) this.#receiveRtcp(msg);
    else this.#receiveRtp(msg);
  }

  #receiveRtp(msg: Buffer): void {
    if (msg.length < 12) {
      this.stats.droppedUnknown++;
      return;
    }
    const entry = this.#incoming.get(msg.readUInt32BE(8));
    if (!entry) {
      this.stats.droppedUnknown++;
      return;
    }
    const seq = msg.readUInt16BE(2);
    if (entry.highest === undefined || seqDelta(entry.highest, seq) > 0) {
      if (entry.highest !== undefined) this.#nackGap(entry, msg.readUInt32BE(8), seq);
      entry.highest = seq;
    } else if (entry.producer.retransmit?.get(seq)) {
      this.stats.droppedDuplicate++;
      return;
    }
    entry.packets++;
    this.stats.rtpReceived++;
    entry.producer.receiveRtp(msg);
  }

  /** Packets the link lost: ask the near node for them once (it answers from its buffer). */
  #nackGap(entry: Incoming, ssrc: number, seq: number): void {
    const gap = seqDelta(entry.highest!, seq) - 1;
    if (gap <= 0 || gap > MAX_GAP || entry.producer.kind !== 'video') return;
    const lost: number[] = [];
    for (let i = 1; i <= gap; i++) lost.push((entry.highest! + i) & 0xffff);
    this.stats.nackedOnLink += lost.length;
    const now = performance.now();
    for (const s of lost) remember(entry, s, now);
    this.sendRtcp(writeNack(entry.localSsrc, ssrc, lost));
  }

  #receiveRtcp(msg: Buffer): void {
    const packets = tryParseRtcp(msg);
    if (packets.length === 0) {
      this.stats.droppedUnknown++;
      return;
    }
    this.stats.rtcpReceived++;
    for (const p of packets) {
      if (p.type === 'sr') {
        const entry = this.#incoming.get(p.ssrc >>> 0);
        if (entry) entry.producer.receiveRtcp([p]);
        else this.stats.droppedUnknown++;
        continue;
      }
      const ssrcs =
        p.type === 'pli' || p.type === 'nack'
          ? [p.mediaSsrc]
          : p.type === 'remb'
            ? p.ssrcs
            : p.type === 'rr'
              ? p.reports.map((r) => r.ssrc)
              : [];
      for (const ssrc of ssrcs) {
        const out = this.#outgoing.get(ssrc >>> 0);
        if (out) out.onFeedback([p]);
        else this.stats.droppedUnknown++;
      }
    }
  }

  /** Idempotent: stops both directions (the relays that used it are closed by their owner) and emits `close`. */
  close(reason: RelayLinkCloseReason = 'close'): void {
    if (this.#closeReason) return;
    this.#closeReason = reason;
    this.#incoming.clear();
    this.#outgoing.clear();
    try {
      this.#socket.close();
    } catch {
      // already closed by a socket error
    }
    this.emit('close', reason);
    this.removeAllListeners();
  }
}

/** Notes that a sequence number was asked for (the 256 latest are kept). */
function remember(entry: Incoming, seq: number, now: number): void {
  entry.asked.delete(seq);
  entry.asked.set(seq, now);
  if (entry.asked.size > 256) entry.asked.delete(entry.asked.keys().next().value!);
}
