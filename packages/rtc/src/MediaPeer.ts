/**
 * A server-side WebRTC peer over node-datachannel (libdatachannel). It keeps a reference to every
 * native object it hands out (tracks, data channels) until `close()`, as libdatachannel closes a
 * channel when its JS wrapper is collected.
 *
 * Answering: add the tracks you want for each offered mid (`addTrack`), then `answer(offer)`.
 * Offering (clients in tests and benchmarks): `addTrack`, `createOffer()`, `setAnswer()`.
 */
import { toLibdatachannelServers } from './iceServers.ts';
import nodeDataChannel, { type DataChannel, type DataChannelInitConfig, type PeerConnection, type RtcConfig } from 'node-datachannel';
import type { IceServer } from '@parley-rtc/protocol';
import { ParleyError } from '@parley-rtc/protocol';
import { TypedEmitter } from './emitter.ts';
import { MediaTrack, type TrackDirection } from './MediaTrack.ts';
import { randomSsrc } from './rtp/rtp.ts';
import { waitGathered, withoutCandidates } from './gathering.ts';
import type { CodecSpec } from './sdp.ts';

const { PeerConnection: NativePeerConnection, Video, Audio } = nodeDataChannel;

export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface MediaPeerEvents {
  state: [state: PeerState];
  datachannel: [channel: DataChannel];
  /** ICE transport state (libdatachannel's words: new, checking, connected, completed, …). */
  ice: [state: string];
  /** Fired once, when the peer is closed locally or its connection fails/closes. */
  close: [];
}

export interface MediaPeerOptions {
  iceServers: readonly IceServer[];
  /** Local address for ICE host candidates (tests: 127.0.0.1). */
  bindAddress?: string | undefined;
  portRangeBegin?: number | undefined;
  portRangeEnd?: number | undefined;
  /** How long to wait for ICE gathering before answering with what we have. */
  gatheringTimeoutMs?: number;
}

export interface AddTrackOptions {
  mid: string;
  kind: 'audio' | 'video';
  direction: TrackDirection;
  /** Codec and the payload type it has on this peer; undefined for an inactive section. */
  codec: CodecSpec | undefined;
  payloadType: number;
  ssrc?: number;
  /** msid stream id announced for sending tracks. */
  streamId?: string;
  /** RTP header extensions to negotiate (answers: only ones the offer has, with its ids). */
  extmaps?: ReadonlyArray<{ id: number; uri: string }>;
  /**
   * Simulcast rids: for a receiving answer, the offer's rids in its order (`a=rid … recv`,
   * `a=simulcast:recv`); for a sending offer (test clients), the layers it will send, low to high.
   */
  simulcastRids?: readonly string[];
}

/** Our track directions in libdatachannel's words. */
const NATIVE_DIRECTION = { send: 'SendOnly', recv: 'RecvOnly', sendrecv: 'SendRecv', inactive: 'Inactive' } as const;

/**
 * The libdatachannel description of one media section: the codec at its payload type, header
 * extensions, simulcast rids, and the SSRC this side sends with (for sending directions).
 */
export function mediaDescription(opts: AddTrackOptions, ssrc: number): InstanceType<typeof Video> | InstanceType<typeof Audio> {
  const desc =
    opts.kind === 'video' ? new Video(opts.mid, NATIVE_DIRECTION[opts.direction]) : new Audio(opts.mid, NATIVE_DIRECTION[opts.direction]);
  const c = opts.codec;
  if (c?.name === 'vp8' && desc instanceof Video) desc.addVP8Codec(opts.payloadType);
  else if (c?.name === 'h264' && desc instanceof Video) {
    desc.addH264Codec(opts.payloadType, `profile-level-id=${c.profileLevelId ?? '42e01f'};packetization-mode=1;level-asymmetry-allowed=1`);
  } else if (c?.name === 'opus' && desc instanceof Audio) desc.addOpusCodec(opts.payloadType);
  else if (desc instanceof Video) desc.addVP8Codec(opts.payloadType);
  else desc.addOpusCodec(opts.payloadType);
  for (const e of opts.extmaps ?? []) desc.parseSdpLine(`a=extmap:${e.id} ${e.uri}`);
  const rids = opts.simulcastRids ?? [];
  if (rids.length > 0) {
    const dir = opts.direction === 'send' ? 'send' : 'recv';
    for (const rid of rids) desc.parseSdpLine(`a=rid:${rid} ${dir}`);
    desc.parseSdpLine(`a=simulcast:${dir} ${rids.join(';')}`);
  }
  if (opts.direction === 'send' || opts.direction === 'sendrecv') {
    desc.addSSRC(ssrc, 'parley', opts.streamId ?? 'parley', `${opts.kind}-${opts.mid}`);
  }
  return desc;
}

export class MediaPeer extends TypedEmitter<MediaPeerEvents> {
  readonly id: string;
  readonly tracks: MediaTrack[] = [];
  readonly dataChannels: DataChannel[] = [];
  #pc: PeerConnection;
  #state: PeerState = 'new';
  #closed = false;
  readonly #gatheringTimeoutMs: number;

  constructor(id: string, options: MediaPeerOptions) {
    super();
    this.id = id;
    this.#gatheringTimeoutMs = options.gatheringTimeoutMs ?? 5000;
    const config: RtcConfig = {
      iceServers: toLibdatachannelServers([...options.iceServers]),
      enableIceTcp: false,
    };
    if (options.bindAddress !== undefined) config.bindAddress = options.bindAddress;
    if (options.portRangeBegin !== undefined) config.portRangeBegin = options.portRangeBegin;
    if (options.portRangeEnd !== undefined) config.portRangeEnd = options.portRangeEnd;
    this.#pc = new NativePeerConnection(id, config);
    this.#pc.onStateChange((s) => this.#onState(s));
    this.#pc.onIceStateChange((s) => {
      if (!this.#closed) this.emit('ice', s);
    });
    this.#pc.onDataChannel((dc) => {
      if (this.#closed) {
        dc.close();
        return;
      }
      this.dataChannels.push(dc);
      dc.onClosed(() => {
        const i = this.dataChannels.indexOf(dc);
        if (i !== -1) this.dataChannels.splice(i, 1);
      });
      this.emit('datachannel', dc);
    });
  }

  get state(): PeerState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #onState(s: string): void {
    if (this.#closed) return;
    const state: PeerState =
      s === 'connecting' || s === 'connected' || s === 'disconnected' || s === 'failed' || s === 'closed' ? s : 'new';
    this.#state = state;
    this.emit('state', state);
    if (state === 'failed' || state === 'closed') setImmediate(() => this.close());
  }

  /** Adds a media section; for answers its mid must match the offer's. */
  addTrack(opts: AddTrackOptions): MediaTrack {
    if (this.#closed) throw new ParleyError('INTERNAL', 'peer is closed');
    const ssrc = opts.ssrc ?? randomSsrc();
    const desc = mediaDescription(opts, ssrc);
    const native = this.#pc.addTrack(desc);
    const track = new MediaTrack(native, { ...opts, ssrc });
    this.tracks.push(track);
    return track;
  }

  /** Applies a remote offer and returns the complete answer SDP (ICE gathered, no trickle). */
  async answer(offerSdp: string): Promise<string> {
    try {
      this.#pc.setRemoteDescription(offerSdp, 'offer');
    } catch (err) {
      throw new ParleyError('BAD_SDP', `the offer was rejected: ${(err as Error).message}`);
    }
    await this.#gathered();
    const local = this.#pc.localDescription();
    if (!local) throw new ParleyError('INTERNAL', 'no local description after the offer');
    return local.sdp;
  }

  /**
   * Creates an offer with the tracks added so far (plus a data channel if asked).
   *
   * By default the offer carries no candidates: the answerer then learns this peer's address
   * from its first connectivity check (a peer-reflexive candidate), which this peer only sends
   * once the answer is applied. With candidates in the offer, a libdatachannel answerer on a
   * fast link can finish ICE and start DTLS before the answer reaches this peer, whose DTLS
   * then fails the fingerprint check ("certificate verify failed", then "Got a remote candidate
   * without ICE transport"). `withCandidates: true` gathers and includes them (for answerers
   * that cannot reach this peer first, e.g. behind a NAT that drops unsolicited packets).
   */
  async createOffer(options: { withCandidates?: boolean } = {}): Promise<string> {
    this.#pc.setLocalDescription();
    await this.#gathered();
    const local = this.#pc.localDescription();
    if (!local) throw new Error('no local description');
    return options.withCandidates ? local.sdp : withoutCandidates(local.sdp);
  }

  setAnswer(sdp: string): void {
    try {
      this.#pc.setRemoteDescription(sdp, 'answer');
    } catch (err) {
      throw new ParleyError('BAD_SDP', `the answer was rejected: ${(err as Error).message}`);
    }
  }

  /** Opens a data channel (client side). The peer keeps the reference. */
  createDataChannel(label: string, init?: DataChannelInitConfig): DataChannel {
    const dc = this.#pc.createDataChannel(label, init);
    this.dataChannels.push(dc);
    return dc;
  }

  /** Adds a trickled remote candidate (`a=candidate:` value or full line). */
  addRemoteCandidate(candidate: string, mid: string): void {
    this.#pc.addRemoteCandidate(candidate.replace(/^a=/, ''), mid);
  }

  /** Resolves when the connection is up, rejects when it fails, closes or the deadline passes. */
  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`peer ${this.id} not connected after ${timeoutMs} ms`)), timeoutMs);
      const offState = this.on('state', (s) => {
        if (s === 'connected') done();
        else if (s === 'failed' || s === 'closed') done(new Error(`peer ${this.id} ${s}`));
      });
      const offClose = this.on('close', () => done(new Error(`peer ${this.id} closed`)));
      function done(err?: Error): void {
        clearTimeout(timer);
        offState();
        offClose();
        if (err) reject(err);
        else resolve();
      }
    });
  }

  #gathered(): Promise<void> {
    return waitGathered(this.#pc, this.#gatheringTimeoutMs, () => this.#closed);
  }

  /** Idempotent: closes tracks, data channels and the native peer connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.tracks) t.close();
    for (const dc of [...this.dataChannels]) {
      try {
        dc.close();
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
    this.emit('state', 'closed');
    this.emit('close');
    this.removeAllListeners();
  }
}
