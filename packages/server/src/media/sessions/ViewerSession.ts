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
import type { RtpSink, StreamSource, TrackKind } from '../sources/StreamSource.ts';
import { attachSessionData, type SessionDataHandler } from './sessionData.ts';

export interface SessionEvents {
  close: [reason: string];
}

interface Outgoing {
  track: MediaTrack;
  rewriter: RtpRewriter;
  retransmit: RetransmitBuffer | undefined;
  lastTs: number | undefined;
  lastAt: number;
  packets: number;
  octets: number;
}

const SR_INTERVAL_MS = 1000;

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
  #data: SessionDataHandler | undefined;

  private constructor(id: string, source: StreamSource, peerOptions: MediaPeerOptions, log: Logger) {
    super();
    this.id = id;
    this.stream = source.name;
    this.#source = source;
    this.#log = log;
    this.peer = new MediaPeer(id, peerOptions);
  }

  /** Builds the peer for `offer` and returns the session with its answer SDP. */
  static async answer(
    id: string,
    source: StreamSource,
    offerSdp: string,
    offer: ParsedSdp,
    peerOptions: MediaPeerOptions,
    log: Logger,
    data?: SessionDataHandler,
  ): Promise<{ session: ViewerSession; answer: string }> {
    const session = new ViewerSession(id, source, peerOptions, log);
    session.#data = data;
    try {
      session.#addTracks(offer);
      const answer = await session.peer.answer(offerSdp);
      session.#watch();
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
          packets: 0,
          octets: 0,
        };
        track.on('open', () => this.#attach());
        track.on('rtcp', (packets) => {
          for (const p of packets) {
            if (p.type === 'pli') this.#source.requestKeyFrame();
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

  #attach(): void {
    if (this.#removeSink || this.#closed) return;
    this.#removeSink = this.#source.addSink(this);
    this.#source.requestKeyFrame();
    this.#srTimer = setInterval(() => this.#sendReports(), SR_INTERVAL_MS);
  }

  onRtp(kind: TrackKind, packet: Buffer): void {
    const out = this.#out[kind];
    if (!out || !out.track.isOpen) return;
    const rewritten = out.rewriter.rewrite(packet);
    if (!rewritten) return;
    if (out.track.sendRtp(rewritten)) {
      out.retransmit?.store(rewritten);
      out.lastTs = rewritten.readUInt32BE(4);
      out.lastAt = Date.now();
      out.packets++;
      out.octets += rewritten.length - 12;
    }
  }

  onEnded(reason: string): void {
    this.#removeSink = undefined;
    this.close(`stream ended: ${reason}`);
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
