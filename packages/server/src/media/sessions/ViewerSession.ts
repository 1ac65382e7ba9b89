/**
 * One viewer of a stream (POST /offer or WHEP): a MediaPeer that answers the viewer's offer with
 * send-only tracks and forwards the source's RTP into them, rewriting SSRC, payload type,
 * sequence numbers and timestamps per viewer. Answers NACKs from a retransmission buffer, turns
 * PLIs into key-frame requests to the source, sends RTCP sender reports, and echoes data channels.
 */
import { ParleyError } from '@parley-rtc/protocol';
import type { Logger } from '../../util/logger.ts';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { MediaPeer, type MediaPeerOptions } from '@parley-rtc/rtc/MediaPeer';
import { watchLiveness } from './liveness.ts';
import type { MediaTrack } from '@parley-rtc/rtc/MediaTrack';
import { RetransmitBuffer } from '@parley-rtc/rtc/rtp/RetransmitBuffer';
import { ntpNow, writeSenderReport } from '@parley-rtc/rtc/rtp/rtcp';
import { RtpRewriter } from '@parley-rtc/rtc/rtp/rtp';
import { matchCodec, type ParsedSdp } from '@parley-rtc/rtc/sdp';
import { isKeyFrameStart } from '@parley-rtc/rtc/rtp/keyFrame';
import type { RtpSink, StreamSource, TrackKind } from '../sources/StreamSource.ts';
import { attachSessionData, type SessionDataHandler } from './sessionData.ts';
import { SetupTimeline } from './setupTimeline.ts';

export interface SessionEvents {
  close: [reason: string];
}

interface Outgoing {
  track: MediaTrack;
  rewriter: RtpRewriter;
  retransmit: RetransmitBuffer | undefined;
  lastTs: number | undefined;
  lastAt: number;
  /** Outgoing sequence numbers of the last key frame start sent and of the last packet sent (video). */
  keySeq: number | undefined;
  lastSeq: number;
  /** When the key frame was last resent for a PLI, and when the track's transport opened. */
  resentAt: number;
  openedAt: number;
  packets: number;
  octets: number;
}

const SR_INTERVAL_MS = 1000;
/** Longest key-frame resend (packets since the key frame); the retransmission buffer holds 512. */
const RESEND_MAX_PACKETS = 400;
/** At most one key-frame resend per viewer per this interval. */
const RESEND_INTERVAL_MS = 500;
/** How long after the transport opened a PLI gets the cached GOP as new packets (see #onPli). */
const RESTAMP_WINDOW_MS = 3000;

export class ViewerSession extends TypedEmitter<SessionEvents> implements RtpSink {
  readonly id: string;
  readonly stream: string;
  readonly peer: MediaPeer;
  readonly createdAt = Date.now();
  #out: Partial<Record<TrackKind, Outgoing>> = {};
  #source: StreamSource;
  #removeSink: (() => void) | undefined;
  #stopWatching: () => void = () => {};
  #srTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #log: Logger;
  /** Setup steps since the request arrived (logged once the first key frame is out). */
  readonly setup: SetupTimeline;
  #data: SessionDataHandler | undefined;

  private constructor(id: string, source: StreamSource, peerOptions: MediaPeerOptions, log: Logger, setup: SetupTimeline) {
    super();
    this.id = id;
    this.stream = source.name;
    this.#source = source;
    this.#log = log;
    this.setup = setup;
    this.peer = new MediaPeer(id, peerOptions);
    setup.mark('peer');
    this.peer.on('ice', (s) => {
      if (s === 'connected' || s === 'completed') setup.mark('iceConnected');
    });
    this.peer.on('state', (s) => {
      if (s === 'connected') setup.mark('connected');
    });
  }

  /** Builds the peer for `offer` and returns the session with its answer SDP. */
  static async answer(
    id: string,
    source: StreamSource,
    offerSdp: string,
    offer: ParsedSdp,
    peerOptions: MediaPeerOptions,
    log: Logger,
    setup = new SetupTimeline(),
    data?: SessionDataHandler,
  ): Promise<{ session: ViewerSession; answer: string }> {
    const session = new ViewerSession(id, source, peerOptions, log, setup);
    session.#data = data;
    try {
      session.#addTracks(offer);
      const answer = await session.peer.answer(offerSdp);
      setup.mark('answer');
      session.#watch();
      session.#subscribe();
      return { session, answer };
    } catch (err) {
      session.close('setup failed');
      throw err;
    }
  }

  #addTracks(offer: ParsedSdp): void {
    const used = new Set<TrackKind>();
    let unsupported: string | undefined;
    for (const m of offer.media) {
      if (m.kind === 'application') continue;
      const codec = m.kind === 'video' ? this.#source.video : this.#source.audio;
      const wantsMedia = m.port !== 0 && (m.direction === 'recvonly' || m.direction === 'sendrecv');
      const offered = codec ? matchCodec(m, codec) : undefined;
      if (wantsMedia && codec && !offered && !used.has(m.kind)) {
        unsupported ??= `the offer has no ${codec.name.toUpperCase()} for ${m.kind} (the stream's codec)`;
      }
      if (wantsMedia && codec && offered && !used.has(m.kind)) {
        used.add(m.kind);
        const track = this.peer.addTrack({
          mid: m.mid,
          kind: m.kind,
          direction: 'send',
          codec,
          payloadType: offered.payloadType,
          streamId: this.stream,
        });
        this.#out[m.kind] = {
          track,
          rewriter: new RtpRewriter(track.ssrc, offered.payloadType, m.kind === 'video' ? 3000 : 960),
          retransmit: m.kind === 'video' ? new RetransmitBuffer(512) : undefined,
          lastTs: undefined,
          lastAt: 0,
          keySeq: undefined,
          lastSeq: 0,
          resentAt: -Infinity,
          openedAt: Infinity,
          packets: 0,
          octets: 0,
        };
        track.on('open', () => this.#opened(m.kind === 'video' ? 'video' : 'audio'));
        track.on('rtcp', (packets) => {
          for (const p of packets) {
            if (p.type === 'pli') this.#onPli();
            else if (p.type === 'nack') this.#retransmit(m.kind === 'video' ? 'video' : 'audio', p.lost);
          }
        });
      } else {
        const first = m.codecs.find((c) => ['vp8', 'opus'].includes(c.name.toLowerCase())) ?? m.codecs[0];
        this.peer.addTrack({
          mid: m.mid,
          kind: m.kind,
          direction: 'inactive',
          codec: undefined,
          payloadType: first?.payloadType ?? (m.kind === 'video' ? 96 : 111),
        });
      }
    }
    if (used.size === 0) {
      throw new ParleyError('UNSUPPORTED', unsupported ?? 'the offer does not receive any media this stream has');
    }
  }

  #watch(): void {
    this.#stopWatching = watchLiveness(this.peer, (reason) => this.close(reason));
    this.peer.on('datachannel', (dc) =>
      attachSessionData(dc, { sessionId: this.id, stream: this.stream }, this.#data, (err) =>
        this.#log.warn({ err, session: this.id }, 'session data handler failed'),
      ),
    );
  }

  /**
   * Becomes a sink as soon as the answer is out, while ICE and DTLS run: an idle ffmpeg source
   * starts now, and a live source without a cached key frame is asked for one now, so that a key
   * frame is ready when the transport opens. Packets before then are dropped (see onRtp).
   */
  #subscribe(): void {
    if (this.#removeSink || this.#closed) return;
    this.#removeSink = this.#source.addSink(this);
    if (this.#out.video && !this.#source.hasKeyFrame) this.#source.requestKeyFrame();
  }

  /** A track's transport is open: video starts with the source's cached key frame (or asks for one). */
  #opened(kind: TrackKind): void {
    if (this.#closed) return;
    this.setup.mark('trackOpen');
    const out = this.#out[kind];
    if (out) out.openedAt = performance.now();
    this.#srTimer ??= setInterval(() => this.#sendReports(), SR_INTERVAL_MS);
    if (kind === 'video' && !this.#source.replayKeyFrame(this)) this.#source.requestKeyFrame();
  }

  onRtp(kind: TrackKind, packet: Buffer): void {
    const out = this.#out[kind];
    if (!out || !out.track.isOpen) return;
    const codec = this.#source.video?.name;
    if (kind === 'video' && out.packets === 0 && (codec === 'vp8' || codec === 'h264') && !isKeyFrameStart(codec, packet)) {
      // nothing before a key frame is decodable: wait for one (asked for; live sources rate-limit PLIs)
      this.#source.requestKeyFrame();
      return;
    }
    const rewritten = out.rewriter.rewrite(packet);
    if (!rewritten) return;
    if (out.track.sendRtp(rewritten)) {
      if (kind === 'video') {
        if (out.packets === 0) this.#markVideoSent();
        out.lastSeq = rewritten.readUInt16BE(2);
        if (out.retransmit && (out.packets === 0 || isKeyFrameStart(codec, rewritten))) out.keySeq = out.lastSeq;
      }
      out.retransmit?.store(rewritten);
      out.lastTs = rewritten.readUInt32BE(4);
      out.lastAt = Date.now();
      out.packets++;
      out.octets += rewritten.length - 12;
    }
  }

  /** The first video packet went out (a key frame start, see onRtp). */
  #markVideoSent(): void {
    this.setup.mark('firstKeyFrame');
    this.#logSetup();
  }

  #logSetup(): void {
    this.#log.debug({ session: this.id, stream: this.stream, setup: this.setup.marks }, 'session setup');
  }

  onEnded(reason: string): void {
    this.#removeSink = undefined;
    this.close(`stream ended: ${reason}`);
  }

  /**
   * A viewer that cannot decode gets the last key frame and everything after it again at once,
   * instead of waiting for the source's next key frame (ffmpeg sources cannot make one on demand);
   * live sources are asked for a fresh key frame too.
   *
   * In the first seconds after the transport opened the source's cached GOP is sent again as new
   * packets (new sequence numbers, timestamps after the last ones sent): a browser that dropped
   * the first packets while its receiver was still being set up has already seen them through
   * SRTP, and its replay protection would discard the same packets sent again. Later, the sent
   * packets are resent from the retransmission buffer (a viewer that lost them never got them).
   */
  #onPli(): void {
    this.#source.requestKeyFrame();
    const out = this.#out.video;
    if (!out?.retransmit || out.keySeq === undefined || !out.track.isOpen) return;
    const now = performance.now();
    if (now - out.resentAt < RESEND_INTERVAL_MS) return;
    out.resentAt = now;
    if (now - out.openedAt < RESTAMP_WINDOW_MS && this.#source.cachedVideoPackets <= RESEND_MAX_PACKETS) {
      out.rewriter.switchInput();
      this.#source.replayKeyFrame(this);
      return;
    }
    const count = ((out.lastSeq - out.keySeq) & 0xffff) + 1;
    if (count > RESEND_MAX_PACKETS) return;
    for (let i = 0; i < count; i++) {
      const p = out.retransmit.get((out.keySeq + i) & 0xffff);
      if (p) out.track.sendRtp(p);
    }
  }

  #retransmit(kind: TrackKind, lost: number[]): void {
    const out = this.#out[kind];
    if (!out?.retransmit) return;
    for (const seq of lost.slice(0, 64)) {
      const p = out.retransmit.get(seq);
      if (p) out.track.sendRtp(p);
    }
  }

  #sendReports(): void {
    const now = Date.now();
    for (const out of Object.values(this.#out)) {
      if (!out || out.lastTs === undefined || !out.track.isOpen) continue;
      const clock = out.track.codec?.clockRate ?? 90000;
      const rtpTimestamp = (out.lastTs + Math.round(((now - out.lastAt) * clock) / 1000)) >>> 0;
      out.track.sendRtcp(
        writeSenderReport({ ssrc: out.track.ssrc, ...ntpNow(now), rtpTimestamp, packetCount: out.packets, octetCount: out.octets }),
      );
    }
  }

  /** Packets sent per kind (for stats and tests). */
  get packetsSent(): Record<TrackKind, number> {
    return { video: this.#out.video?.packets ?? 0, audio: this.#out.audio?.packets ?? 0 };
  }

  /** Idempotent: detaches from the source and closes the peer. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.setup.has('firstKeyFrame')) this.#logSetup();
    this.#stopWatching();
    if (this.#srTimer) clearInterval(this.#srTimer);
    this.#removeSink?.();
    this.#removeSink = undefined;
    this.peer.close();
    this.#log.debug({ session: this.id, stream: this.stream, reason }, 'viewer closed');
    this.emit('close', reason);
    this.removeAllListeners();
  }
}
