/**
 * A headless participant's peer-to-peer link to one other member, on libdatachannel's native API,
 * wire-compatible with the SDK's PeerLink (browsers) and with other bots:
 * - perfect negotiation: the member already in the room offers, the newcomer waits for that offer
 *   (or offers after `initiatorTimeoutMs`); on glare the impolite side ignores the other's offer
 *   and the polite side rolls its own back;
 * - the negotiated `parley` data channel (id 0) carries our media state, as PeerLink expects;
 * - our camera and microphone ride on the offered sections (sendrecv) when we answer, or on
 *   sections of our own when we offer; every section the remote sends on is counted.
 * Offers carry no candidates (the answerer learns our address from our checks; see MediaPeer);
 * answers carry gathered candidates; the remote's trickled candidates are applied in order.
 * Everything that touches the connection runs on one queue, in arrival order.
 */
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';
import type { CandidateRequest, IceServer, PeerInfo } from '@parley-rtc/protocol';
import type { PeerMediaState } from '@parley-rtc/client';
import { PEER_CHANNEL_ID, PEER_CHANNEL_LABEL, type SignalSender } from '@parley-rtc/client/internal';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { toLibdatachannelServers } from '@parley-rtc/rtc/iceServers';
import { mediaDescription } from '@parley-rtc/rtc/MediaPeer';
import { MediaTrack, type TrackDirection } from '@parley-rtc/rtc/MediaTrack';
import { parseSdp, type SdpMedia } from '@parley-rtc/rtc/sdp';
import { BOT_CODECS } from './codecs.ts';
import { asksForKeyFrame, type Playout } from './media/Playout.ts';
import { randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import { waitGathered, withoutCandidates } from '@parley-rtc/rtc/gathering';
import type { InboundStream } from './stats/InboundStream.ts';

const { PeerConnection: NativePeerConnection } = nodeDataChannel;

export type LinkState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface MeshLinkOptions {
  peer: PeerInfo;
  polite: boolean;
  /** Whether we make the first offer (true towards members who joined after us). */
  initiator: boolean;
  signal: SignalSender;
  /** What we send (at most one audio and one video playout). */
  sources: readonly Playout[];
  /** Our media state as PeerLink reads it (stream ids must match the msid we announce). */
  state: PeerMediaState;
  streamId: string;
  iceServers: readonly IceServer[];
  bindAddress?: string | undefined;
  /** The counter for what arrives on one of this link's sections. */
  inbound: (kind: 'audio' | 'video', key: string) => InboundStream;
  initiatorTimeoutMs?: number;
}

export interface MeshLinkEvents {
  state: [state: LinkState];
  error: [error: Error];
  close: [reason: string];
}

/**
 * Data channels of closed links, kept until the process ends: libdatachannel's cleanup() crashes
 * the process (SIGSEGV) when the JS wrapper of a closed channel was garbage collected before it
 * (seen in the bots' tests). A wrapper costs a few hundred bytes.
 */
const RETIRED_CHANNELS: DataChannel[] = [];

const STATES = new Set<LinkState>(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed']);

export class MeshLink extends TypedEmitter<MeshLinkEvents> {
  readonly peer: PeerInfo;
  readonly #opts: MeshLinkOptions;
  readonly #pc: PeerConnection;
  readonly #tracks = new Map<string, MediaTrack>();
  /** Playouts not yet attached to a section of this link. */
  readonly #unsent: Set<Playout>;
  readonly #detach: Array<() => void> = [];
  #channel: DataChannel | undefined;
  #queue: Promise<void> = Promise.resolve();
  #pendingCandidates: Array<NonNullable<CandidateRequest['candidate']>> = [];
  #ignoreOffer = false;
  #negotiated = false;
  #offers = 0;
  #state: LinkState = 'new';
  #startTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MeshLinkOptions) {
    super();
    this.peer = options.peer;
    this.#opts = options;
    this.#unsent = new Set(options.sources);
    this.#pc = new NativePeerConnection(`mesh-${options.peer.id}`, {
      iceServers: toLibdatachannelServers([...options.iceServers]),
      enableIceTcp: false,
      disableAutoNegotiation: true,
      ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
    });
    this.#pc.onStateChange((s) => this.#onState(s));
    // Sections the remote offered that we did not prepare (should not happen): keep and count them.
    this.#pc.onTrack((native) => {
      const kind = native.type() === 'audio' ? 'audio' : 'video';
      this.#keep(
        native.mid(),
        new MediaTrack(native, { mid: native.mid(), kind, direction: 'recv', codec: undefined, payloadType: 0, ssrc: 0 }),
      );
    });
    // #enqueue's promise never rejects (a failed step is emitted as 'error'): fire and forget.
    if (options.initiator) void this.#enqueue(() => this.#offer());
    else {
      this.#startTimer = setTimeout(() => {
        if (!this.#negotiated) void this.#enqueue(() => this.#offer());
      }, options.initiatorTimeoutMs ?? 3000);
    }
  }

  get state(): LinkState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Applies a relayed offer or answer (queued behind earlier signaling). */
  handleDescription(description: { type: 'offer' | 'answer'; sdp?: string | undefined }): Promise<void> {
    const sdp = description.sdp;
    if (sdp === undefined) return Promise.resolve();
    return this.#enqueue(() => (description.type === 'offer' ? this.#answer(sdp) : this.#applyAnswer(sdp)));
  }

  /** Applies a relayed ICE candidate, or keeps it until the description it belongs to is set. */
  handleCandidate(candidate: CandidateRequest['candidate']): Promise<void> {
    return this.#enqueue(async () => {
      if (candidate === null || this.#ignoreOffer) return;
      if (this.#pc.signalingState() === 'have-local-offer' || !this.#pc.remoteDescription()) this.#pendingCandidates.push(candidate);
      else this.#addCandidate(candidate);
    });
  }

  /** Closes the connection, its tracks and timers. Idempotent. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#startTimer);
    for (const off of this.#detach.splice(0)) off();
    for (const t of this.#tracks.values()) t.close();
    if (this.#channel) {
      RETIRED_CHANNELS.push(this.#channel);
      try {
        this.#channel.close();
      } catch {
        // already closed
      }
    }
    try {
      this.#pc.close();
    } catch {
      // already closed
    }
    this.#state = 'closed';
    this.emit('close', reason);
    this.removeAllListeners();
  }

  async #offer(): Promise<void> {
    if (this.#pc.signalingState() !== 'stable') return;
    const first = this.#offers++ === 0;
    const kinds = new Set([...this.#tracks.values()].map((t) => t.kind));
    for (const source of [...this.#unsent]) {
      this.#addTrack(
        {
          mid: `b${source.kind[0]}${this.#offers}`,
          kind: source.kind,
          direction: 'sendrecv',
          payloadType: BOT_CODECS[source.kind].payloadType,
        },
        source,
      );
      kinds.add(source.kind);
    }
    // Our first offer has one section of each kind, so the remote can send without renegotiating.
    if (first) {
      for (const kind of ['video', 'audio'] as const) {
        if (!kinds.has(kind))
          this.#addTrack({ mid: `b${kind[0]}r`, kind, direction: 'recv', payloadType: BOT_CODECS[kind].payloadType }, undefined);
      }
    }
    this.#ensureChannel();
    this.#pc.setLocalDescription('offer');
    await waitGathered(this.#pc, 5000, () => this.#closed);
    const local = this.#pc.localDescription();
    if (!local || this.#closed) return;
    await this.#opts.signal.offer(this.peer.id, withoutCandidates(local.sdp));
  }

  async #answer(sdp: string): Promise<void> {
    const offer = parseSdp(sdp);
    const collision = this.#pc.signalingState() !== 'stable';
    this.#ignoreOffer = collision && !this.#opts.polite;
    if (this.#ignoreOffer) return;
    if (collision) this.#rollback();
    clearTimeout(this.#startTimer);
    for (const m of offer.media) {
      if (m.kind !== 'application' && m.port !== 0 && !this.#tracks.has(m.mid)) this.#prepareSection(m);
    }
    this.#pc.setRemoteDescription(sdp, 'offer');
    this.#flushCandidates();
    this.#pc.setLocalDescription('answer');
    this.#ensureChannel();
    this.#negotiated = true;
    await waitGathered(this.#pc, 5000, () => this.#closed);
    const local = this.#pc.localDescription();
    if (!local || this.#closed) return;
    await this.#opts.signal.answer(this.peer.id, local.sdp);
    // Sources the offer had no room for (e.g. it only offered data) get a section of our own.
    if (this.#unsent.size > 0) await this.#offer();
  }

  async #applyAnswer(sdp: string): Promise<void> {
    if (this.#pc.signalingState() !== 'have-local-offer') return; // a stale answer
    this.#pc.setRemoteDescription(sdp, 'answer');
    this.#negotiated = true;
    this.#flushCandidates();
  }

  /** Polite side of a glare: drop our offer and the sections made for it; their sources wait. */
  #rollback(): void {
    this.#pc.setLocalDescription('rollback');
    const remote = this.#pc.remoteDescription();
    const known = new Set(remote ? parseSdp(remote.sdp).media.map((m) => m.mid) : []);
    for (const [mid, track] of this.#tracks) {
      if (known.has(mid)) continue;
      track.close();
      this.#tracks.delete(mid);
    }
    this.#unsent.clear();
    for (const s of this.#opts.sources) if (![...this.#tracks.values()].some((t) => t.ssrc === s.ssrc)) this.#unsent.add(s);
    this.#pendingCandidates = [];
  }

  /** Answers one offered section: our source of that kind if it may send to us, and counting what it sends. */
  #prepareSection(m: SdpMedia): void {
    const kind = m.kind === 'audio' ? 'audio' : 'video';
    const codecName = kind === 'video' ? 'vp8' : 'opus';
    const codec = m.codecs.find((c) => c.name.toLowerCase() === codecName);
    const remoteSends = m.direction === 'sendrecv' || m.direction === 'sendonly';
    const remoteReceives = m.direction === 'sendrecv' || m.direction === 'recvonly';
    const source = codec && remoteReceives ? [...this.#unsent].find((s) => s.kind === kind) : undefined;
    const direction: TrackDirection = !codec
      ? 'inactive'
      : source
        ? remoteSends
          ? 'sendrecv'
          : 'send'
        : remoteSends
          ? 'recv'
          : 'inactive';
    this.#addTrack({ mid: m.mid, kind, direction, payloadType: codec?.payloadType ?? m.codecs[0]?.payloadType ?? 96 }, source);
  }

  #addTrack(
    section: { mid: string; kind: 'audio' | 'video'; direction: TrackDirection; payloadType: number },
    source: Playout | undefined,
  ): void {
    const codec = BOT_CODECS[section.kind].codec;
    const ssrc = source?.ssrc ?? randomSsrc();
    const init = { ...section, codec, ssrc, streamId: this.#opts.streamId };
    const track = new MediaTrack(this.#pc.addTrack(mediaDescription(init, ssrc)), init);
    this.#keep(section.mid, track);
    if (source) {
      this.#unsent.delete(source);
      this.#detach.push(source.attach(track));
      track.on('rtcp', (packets) => {
        if (asksForKeyFrame(packets)) source.requestKeyFrame();
      });
    }
  }

  #keep(mid: string, track: MediaTrack): void {
    this.#tracks.set(mid, track);
    if (track.direction === 'sendrecv' || track.direction === 'recv') {
      const inbound = this.#opts.inbound(track.kind, `mesh:${this.peer.id}:${mid}`);
      track.on('rtp', (pkt) => inbound.packet(pkt));
    }
  }

  #ensureChannel(): void {
    if (this.#channel) return;
    const channel = this.#pc.createDataChannel(PEER_CHANNEL_LABEL, { negotiated: true, id: PEER_CHANNEL_ID });
    channel.onOpen(() => {
      try {
        channel.sendMessage(JSON.stringify({ t: 'state', state: this.#opts.state }));
      } catch {
        // closed meanwhile
      }
    });
    // Their media state is of no use to a bot; it is read so the channel does not queue it.
    channel.onMessage(() => undefined);
    this.#channel = channel;
  }

  #addCandidate(c: NonNullable<CandidateRequest['candidate']>): void {
    const mid = c.sdpMid ?? this.#firstMid();
    if (!c.candidate || mid === undefined) return;
    try {
      this.#pc.addRemoteCandidate(c.candidate.replace(/^a=/, ''), mid);
    } catch (err) {
      // A candidate of an offer we ignored, or one libdatachannel cannot use (e.g. mDNS): skip it.
      if (!this.#ignoreOffer) this.emit('error', new Error(`candidate not applied: ${(err as Error).message}`));
    }
  }

  #firstMid(): string | undefined {
    const remote = this.#pc.remoteDescription();
    return remote ? parseSdp(remote.sdp).media[0]?.mid : undefined;
  }

  #flushCandidates(): void {
    const queued = this.#pendingCandidates;
    this.#pendingCandidates = [];
    for (const c of queued) this.#addCandidate(c);
  }

  #onState(s: string): void {
    if (this.#closed || !STATES.has(s as LinkState)) return;
    this.#state = s as LinkState;
    this.emit('state', this.#state);
    if (s === 'failed' || s === 'closed') setImmediate(() => this.close(`connection ${s}`));
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(() => (this.#closed ? undefined : op()));
    // A failed step is reported and must not wedge the queue.
    this.#queue = run.catch((err: unknown) => {
      if (!this.#closed) this.emit('error', err instanceof Error ? err : new Error(String(err)));
    });
    return this.#queue;
  }
}
