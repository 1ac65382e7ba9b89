/**
 * One WHIP publisher: a MediaPeer that answers the publisher's offer with receive-only tracks
 * (VP8 or H.264, Opus) and feeds their RTP into a LiveSource that viewers and recorders share.
 */
import { ParleyError } from '@parley-rtc/protocol';
import type { Logger } from '../../util/logger.ts';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { MediaPeer, type MediaPeerOptions } from '@parley-rtc/rtc/MediaPeer';
import { watchLiveness } from './liveness.ts';
import type { MediaTrack } from '@parley-rtc/rtc/MediaTrack';
import { chooseIngestCodec, type CodecSpec, type ParsedSdp } from '@parley-rtc/rtc/sdp';
import { LiveSource } from '../sources/LiveSource.ts';
import type { TrackKind } from '../sources/StreamSource.ts';
import type { SessionEvents } from './ViewerSession.ts';

export class PublisherSession extends TypedEmitter<SessionEvents> {
  readonly id: string;
  readonly stream: string;
  readonly peer: MediaPeer;
  readonly source: LiveSource;
  readonly createdAt = Date.now();
  #tracks: Partial<Record<TrackKind, MediaTrack>> = {};
  #stopWatching: () => void = () => {};
  #closed = false;
  readonly #log: Logger;

  private constructor(id: string, stream: string, offer: ParsedSdp, peerOptions: MediaPeerOptions, log: Logger) {
    super();
    this.id = id;
    this.stream = stream;
    this.#log = log;
    this.peer = new MediaPeer(id, peerOptions);
    const codecs = this.#addTracks(offer);
    this.source = new LiveSource({
      name: stream,
      video: codecs.video,
      audio: codecs.audio,
      requestKeyFrame: () => this.#tracks.video?.requestKeyFrame(),
    });
  }

  /** Builds the peer for a WHIP offer; `register` publishes the source before media can flow. */
  static async answer(
    id: string,
    stream: string,
    offerSdp: string,
    offer: ParsedSdp,
    peerOptions: MediaPeerOptions,
    log: Logger,
    register: (session: PublisherSession) => void,
  ): Promise<{ session: PublisherSession; answer: string }> {
    let session: PublisherSession | undefined;
    try {
      session = new PublisherSession(id, stream, offer, peerOptions, log);
      register(session);
      const answer = await session.peer.answer(offerSdp);
      session.#watch();
      return { session, answer };
    } catch (err) {
      session?.close('setup failed');
      throw err;
    }
  }

  #addTracks(offer: ParsedSdp): { video: CodecSpec | undefined; audio: CodecSpec | undefined } {
    const chosen: { video: CodecSpec | undefined; audio: CodecSpec | undefined } = { video: undefined, audio: undefined };
    let unsupported: string | undefined;
    for (const m of offer.media) {
      if (m.kind === 'application') continue;
      const sends = m.port !== 0 && (m.direction === 'sendonly' || m.direction === 'sendrecv');
      let match: { codec: CodecSpec; payloadType: number } | undefined;
      if (sends && chosen[m.kind] === undefined) {
        match = chooseIngestCodec(m);
        if (!match)
          unsupported ??= `no supported ${m.kind} codec offered (${m.codecs.map((c) => c.name).join(', ') || 'none'}); use VP8/H.264 and Opus`;
      }
      if (match) {
        const kind = m.kind;
        chosen[kind] = match.codec;
        const pt = match.payloadType;
        const track = this.peer.addTrack({ mid: m.mid, kind, direction: 'recv', codec: match.codec, payloadType: pt });
        this.#tracks[kind] = track;
        track.on('rtp', (packet) => {
          if ((packet[1]! & 0x7f) === pt) this.source.push(kind, packet);
        });
      } else {
        this.peer.addTrack({
          mid: m.mid,
          kind: m.kind,
          direction: 'inactive',
          codec: undefined,
          payloadType: m.codecs[0]?.payloadType ?? 96,
        });
      }
    }
    if (!chosen.video && !chosen.audio) throw new ParleyError('UNSUPPORTED', unsupported ?? 'the offer sends no media');
    return chosen;
  }

  #watch(): void {
    this.#stopWatching = watchLiveness(
      this.peer,
      (reason) => this.close(reason),
      () => this.#tracks.video?.requestKeyFrame(),
    );
  }

  /** Idempotent: ends the live source (its viewers close) and the peer. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching();
    void this.source.close();
    this.peer.close();
    this.#log.debug({ session: this.id, stream: this.stream, reason }, 'publisher closed');
    this.emit('close', reason);
    this.removeAllListeners();
  }
}
