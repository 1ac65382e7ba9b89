/**
 * Writes one published track of a room to its own file, without transcoding: VP8 frames (WebM) or
 * H.264 access units (Matroska, AVC samples with the avcC from the first key frame's SPS/PPS)
 * reassembled from RTP, Opus packets as they come (WebM). Timestamps are room time (RoomClock) minus the
 * track's start, so every file starts at 0 and `startMs` places it in the room.
 *
 * Frames wait (up to `srWaitMs`) until the stream's first RTCP sender report maps it onto the room
 * clock. Video starts at a key frame (one is asked for). Simulcast: the highest layer that flows is
 * recorded; it switches up when a higher layer starts and down when the current one stops, each
 * time at a key frame of the new layer, whose own sender reports keep the timeline continuous.
 * Gaps (mutes, a publisher that stops sending) longer than `GAP_MS` split the track's `segments`.
 */
import { tryParseRtp } from '@parley-rtc/rtc/rtp/rtp';
import { depacketizeOpus } from '@parley-rtc/rtc/rtp/opus';
import type { Producer } from '../../../sfu/Producer.ts';
import type { Publication } from '../../../sfu/RouterTypes.ts';
import { Simulcast } from '../../../sfu/Simulcast.ts';
import { opusTrack, WebmWriter } from '../WebmWriter.ts';
import { VideoDepacketizer, videoTrack, type RecordedVideoCodec } from '../RecordedVideo.ts';
import { StreamTimeline, type RoomClock } from './RoomClock.ts';

/** A pause longer than this starts a new segment. */
const GAP_MS = 1000;
/** A simulcast layer that sent nothing for this long is no longer recorded. */
const LAYER_IDLE_MS = 1500;

export interface TrackRecorderOptions {
  publication: Publication;
  /** The publisher's member id (one NTP → room offset per member). */
  member: string;
  path: string;
  clock: RoomClock;
  /** How long frames wait for the first sender report before arrival time maps them (default 3000 ms). */
  srWaitMs?: number;
  /** A write failed (disk full): the track stops; the recording decides what to do. */
  onError: (err: Error) => void;
}

export interface TrackTiming {
  /** Room ms of the first frame written (undefined before). */
  startMs: number | undefined;
  endMs: number | undefined;
  /** Room-ms intervals in which media flowed. */
  segments: Array<[number, number]>;
  /** How the track was placed on the room clock. */
  sync: 'pending' | 'sr' | 'arrival';
  /** Simulcast layer switches. */
  layerSwitches: number;
  frames: number;
  width: number | undefined;
  height: number | undefined;
}

interface PendingFrame {
  ts: number;
  data: Buffer;
  key: boolean;
  arrivalMs: number;
  /** H.264 key frames: the avcC built from the SPS/PPS seen so far. */
  config?: Buffer;
}

export class TrackRecorder {
  readonly kind: 'audio' | 'video';
  readonly path: string;
  readonly #opts: TrackRecorderOptions;
  readonly #layers: readonly Producer[];
  readonly #timelines = new Map<Producer, StreamTimeline>();
  readonly #offs: Array<() => void> = [];
  #current: Producer | undefined;
  #depack: VideoDepacketizer;
  #pending: PendingFrame[] = [];
  #writer: WebmWriter | undefined;
  #lastMs = -Infinity;
  #closed = false;
  readonly timing: TrackTiming = {
    startMs: undefined,
    endMs: undefined,
    segments: [],
    sync: 'pending',
    layerSwitches: 0,
    frames: 0,
    width: undefined,
    height: undefined,
  };

  constructor(opts: TrackRecorderOptions) {
    this.#opts = opts;
    this.path = opts.path;
    const pub = opts.publication;
    this.kind = pub.kind;
    this.#layers = pub instanceof Simulcast ? pub.layers : [pub];
    this.#depack = this.#newDepacketizer();
    this.#switchDepacketizer = this.#newDepacketizer();
    for (const layer of this.#layers) {
      this.#timelines.set(layer, new StreamTimeline(opts.clock, opts.member, layer));
      this.#offs.push(layer.addTap((pkt, from) => this.#packet(pkt, from)));
    }
    if (this.kind === 'video') for (const l of this.#layers) l.requestKeyFrame();
  }

  /** Supported without transcoding: VP8, H.264 and Opus. */
  static supports(pub: Publication): boolean {
    return pub.codec.name === 'vp8' || pub.codec.name === 'h264' || pub.codec.name === 'opus';
  }

  get #videoCodec(): RecordedVideoCodec {
    return this.#opts.publication.codec.name === 'h264' ? 'h264' : 'vp8';
  }

  #newDepacketizer(): VideoDepacketizer {
    return new VideoDepacketizer(this.#videoCodec);
  }

  get bytes(): number {
    return this.#writer?.bytes ?? 0;
  }

  #packet(buf: Buffer, from: Producer): void {
    if (this.#closed) return;
    try {
      if (this.kind === 'audio') this.#audio(buf, from);
      else this.#video(buf, from);
    } catch (err) {
      this.#fail(err as Error);
    }
  }

  #audio(buf: Buffer, from: Producer): void {
    const p = tryParseRtp(buf);
    const frame = p && depacketizeOpus(p);
    if (frame) this.#frame(from, { ts: frame.timestamp, data: Buffer.from(frame.data), key: true, arrivalMs: this.#opts.clock.now() });
  }

  #video(buf: Buffer, from: Producer): void {
    if (from !== this.#current && !this.#wants(from)) return;
    const p = tryParseRtp(buf);
    if (!p) return;
    if (from !== this.#current) {
      // a better layer: switch when its key frame starts
      const start = this.#switchDepacketizer.push(p);
      if (!start?.keyFrame) {
        if (this.#switchDepacketizer.needKeyFrame) from.requestKeyFrame();
        return;
      }
      if (this.#current) this.timing.layerSwitches++;
      this.#current = from;
      this.#depack = this.#switchDepacketizer;
      this.#switchDepacketizer = this.#newDepacketizer();
      this.#pushVideo(from, start);
      return;
    }
    const frame = this.#depack.push(p);
    if (this.#depack.needKeyFrame) from.requestKeyFrame();
    if (frame) this.#pushVideo(from, frame);
  }

  #switchDepacketizer: VideoDepacketizer;

  /** Whether a packet of `layer` (not the current one) may start a switch to it. */
  #wants(layer: Producer): boolean {
    const cur = this.#current;
    if (!cur) return true;
    const now = performance.now();
    if (now - cur.lastPacketAt > LAYER_IDLE_MS) return true;
    return this.#layers.indexOf(layer) > this.#layers.indexOf(cur) && layer.width * layer.height >= cur.width * cur.height;
  }

  #pushVideo(from: Producer, frame: { data: Buffer; timestamp: number; keyFrame: boolean }): void {
    let config: Buffer | undefined;
    if (frame.keyFrame) {
      const key = this.#depack.keyFrameInfo(frame);
      if (key.width !== undefined && key.height !== undefined) {
        this.timing.width = key.width;
        this.timing.height = key.height;
      }
      config = key.config;
    }
    const f: PendingFrame = { ts: frame.timestamp, data: Buffer.from(frame.data), key: frame.keyFrame, arrivalMs: this.#opts.clock.now() };
    this.#frame(from, config ? { ...f, config } : f);
  }

  #frame(from: Producer, f: PendingFrame): void {
    const timeline = this.#timelines.get(from)!;
    if (!timeline.ready) {
      const first = this.#pending[0];
      if (first && f.arrivalMs - first.arrivalMs > (this.#opts.srWaitMs ?? 3000)) timeline.fallBack(first.ts, first.arrivalMs);
      else {
        if (this.#pending.length < 2000) this.#pending.push(f);
        return;
      }
    }
    this.timing.sync = timeline.mode;
    if (this.#pending.length > 0) {
      const queued = this.#pending;
      this.#pending = [];
      for (const q of queued) this.#write(timeline.toRoomMs(q.ts), q);
    }
    this.#write(timeline.toRoomMs(f.ts), f);
  }

  #write(roomMs: number, f: PendingFrame): void {
    if (!this.#writer) {
      if (this.kind === 'video' && !f.key) return;
      const track =
        this.kind === 'video'
          ? videoTrack(1, this.#videoCodec, { width: this.timing.width, height: this.timing.height, config: f.config })
          : opusTrack(1);
      if (!track) return; // an H.264 key frame without SPS/PPS seen: wait for the next one
      this.#writer = new WebmWriter(this.path, [track]);
      this.timing.startMs = roomMs;
    }
    // strictly forwards: a newer sender report may move the mapping by a few ms, and a simulcast
    // layer switch may start with a frame of a capture time already written (muxers refuse equal dts)
    const ms = Math.max(roomMs, this.#lastMs + 1);
    const start = this.timing.startMs!;
    const segs = this.timing.segments;
    const last = segs[segs.length - 1];
    if (last && ms - last[1] <= GAP_MS) last[1] = ms;
    else segs.push([ms, ms]);
    this.#lastMs = ms;
    this.timing.endMs = ms;
    this.timing.frames++;
    this.#writer.addFrame(1, ms - start, f.data, f.key, this.kind === 'video');
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.close();
    this.#opts.onError(err);
  }

  /** Stops listening and finalizes the file (if anything was written). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#offs) off();
    this.#pending = [];
    try {
      this.#writer?.finish();
    } catch {
      // the disk is full: the file ends where the last write succeeded
    }
  }
}
