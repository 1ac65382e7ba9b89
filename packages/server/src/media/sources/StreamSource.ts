/**
 * A stream that viewers, recorders and (later) SFU routers subscribe to. A source produces RTP for
 * up to one video and one audio track; every sink gets the same packets (fan-out). The source
 * keeps the video packets since the last key frame so that a new sink can start decoding at once.
 */
import { isRtcp } from '@parley-rtc/rtc/rtp/rtp';
import { isKeyFrameStart } from '@parley-rtc/rtc/rtp/keyFrame';
import type { CodecSpec } from '@parley-rtc/rtc/sdp';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';

export type SourceKind = 'testsrc' | 'file' | 'live' | 'recording';
export type TrackKind = 'audio' | 'video';

export interface RtpSink {
  /** One RTP packet of the source's `kind` track. Do not modify the buffer; copy to rewrite. */
  onRtp(kind: TrackKind, packet: Buffer): void;
  /** The source stopped for good (publisher left, file ended); the sink should wind down. */
  onEnded?(reason: string): void;
}

export interface StreamSourceEvents {
  ended: [reason: string];
  /** A sink asked for a key frame (viewer PLI). */
  keyFrameRequest: [];
}

export interface StreamInfo {
  name: string;
  kind: SourceKind;
  video: CodecSpec | undefined;
  audio: CodecSpec | undefined;
  sinks: number;
}

const MAX_GOP_PACKETS = 1500;

export abstract class StreamSource extends TypedEmitter<StreamSourceEvents> {
  abstract readonly name: string;
  abstract readonly kind: SourceKind;
  abstract readonly video: CodecSpec | undefined;
  abstract readonly audio: CodecSpec | undefined;
  readonly #sinks = new Set<RtpSink>();
  #gop: Buffer[] = [];
  #ended = false;
  packetsIn = 0;

  get sinkCount(): number {
    return this.#sinks.size;
  }

  get ended(): boolean {
    return this.#ended;
  }

  info(): StreamInfo {
    return { name: this.name, kind: this.kind, video: this.video, audio: this.audio, sinks: this.#sinks.size };
  }

  /** Adds a sink; it first gets the cached packets since the last key frame. Returns `remove`. */
  addSink(sink: RtpSink): () => void {
    this.#sinks.add(sink);
    for (const p of this.#gop) sink.onRtp('video', p);
    return () => {
      if (this.#sinks.delete(sink) && this.#sinks.size === 0) this.onIdle();
    };
  }

  /** How many video packets the key-frame cache holds. */
  get cachedVideoPackets(): number {
    return this.#gop.length;
  }

  /** True while the cache holds the packets since a key frame (a new sink can start at once). */
  get hasKeyFrame(): boolean {
    return this.#gop.length > 0;
  }

  /**
   * Sends the cached video packets since the last key frame to `sink` again (a sink added before
   * it could send, e.g. a viewer whose transport opened later). Returns whether there were any.
   */
  replayKeyFrame(sink: RtpSink): boolean {
    if (!this.#sinks.has(sink)) return false;
    for (const p of this.#gop) sink.onRtp('video', p);
    return this.#gop.length > 0;
  }

  /** Called when the last sink leaves; sources that run a process stop it here. */
  protected onIdle(): void {}

  /** Subclasses feed RTP here. */
  protected dispatch(kind: TrackKind, packet: Buffer): void {
    if (this.#ended || packet.length < 12 || isRtcp(packet)) return;
    this.packetsIn++;
    if (kind === 'video') this.#cache(packet);
    for (const sink of this.#sinks) {
      try {
        sink.onRtp(kind, packet);
      } catch {
        // a faulty sink must not stop the fan-out
      }
    }
  }

  #cache(packet: Buffer): void {
    const key = isKeyFrameStart(this.video?.name, packet);
    if (key) {
      // keep a key frame that spans several packets together: only restart at a new timestamp
      const first = this.#gop[0];
      if (!first || first.readUInt32BE(4) !== packet.readUInt32BE(4)) this.#gop = [];
    }
    if (this.#gop.length > 0 || key) {
      if (this.#gop.length >= MAX_GOP_PACKETS) this.#gop = [];
      else this.#gop.push(packet);
    }
  }

  /** Drops the key-frame cache (e.g. when the input restarts). */
  protected resetCache(): void {
    this.#gop = [];
  }

  /** A sink asks for a key frame; live sources forward it to the publisher as PLI. */
  requestKeyFrame(): void {
    this.emit('keyFrameRequest');
  }

  /** Ends the source for every sink. Idempotent. */
  protected end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#gop = [];
    for (const sink of [...this.#sinks]) {
      try {
        sink.onEnded?.(reason);
      } catch {
        // ignore
      }
    }
    this.#sinks.clear();
    this.emit('ended', reason);
    this.removeAllListeners();
  }

  abstract close(): Promise<void>;
}
