/**
 * Records one stream without transcoding: subscribes to the source as a sink, reassembles VP8
 * frames (WebM) or H.264 access units (Matroska, avcC from the first key frame's SPS/PPS) and Opus
 * packets from RTP and writes them with timestamps derived from the RTP clock (unwrapped).
 * Recording starts at the first video key frame (it asks the source for one; for H.264 one after
 * SPS and PPS); audio before that is dropped so the file starts decodable.
 */
import { ParleyError } from '@parley-rtc/protocol';
import { tryParseRtp } from '@parley-rtc/rtc/rtp/rtp';
import { depacketizeOpus } from '@parley-rtc/rtc/rtp/opus';
import type { RtpSink, StreamSource, TrackKind } from '../sources/StreamSource.ts';
import { opusTrack, WebmWriter, type WebmTrack } from './WebmWriter.ts';
import { isRecordedVideo, recordingContainer, VideoDepacketizer, videoTrack, type RecordedVideoCodec } from './RecordedVideo.ts';

class Clock {
  #first: number | undefined;
  #last = 0;
  #ext = 0;
  readonly rate: number;
  constructor(rate: number) {
    this.rate = rate;
  }
  /** RTP timestamp → ms since this track's first packet (32-bit wrap handled). */
  ms(ts: number): number {
    if (this.#first === undefined) {
      this.#first = ts;
      this.#last = ts;
    }
    const delta = (ts - this.#last) | 0;
    this.#ext += delta;
    this.#last = ts;
    return (this.#ext * 1000) / this.rate;
  }
}

/** What a recording of `source` is: its video codec and file type. Throws UNSUPPORTED for codecs it cannot write as they are. */
export function recordingFormat(source: StreamSource): { video: RecordedVideoCodec | undefined; container: 'webm' | 'mkv' } {
  const v = source.video?.name;
  if (v !== undefined && !isRecordedVideo(v)) {
    throw new ParleyError('UNSUPPORTED', `recording supports VP8 and H.264 video (this stream is ${v.toUpperCase()})`);
  }
  const a = source.audio?.name;
  if (a !== undefined && a !== 'opus')
    throw new ParleyError('UNSUPPORTED', `recording supports Opus audio (this stream is ${a.toUpperCase()})`);
  return { video: v, container: recordingContainer(v) };
}

export class Recorder implements RtpSink {
  readonly path: string;
  readonly stream: string;
  readonly startedAt = Date.now();
  #source: StreamSource;
  #remove: (() => void) | undefined;
  #writer: WebmWriter | undefined;
  #video: VideoDepacketizer | undefined;
  #videoClock = new Clock(90000);
  #audioClock = new Clock(48000);
  /** Offset (ms) of each track's first timestamp from the recording start, by arrival time. */
  #offsets: Partial<Record<TrackKind, number>> = {};
  #startWall: number | undefined;
  #lastPli = 0;
  #finished = false;
  #onEnded: (reason: string) => void;

  constructor(source: StreamSource, path: string, onEnded: (reason: string) => void) {
    const { video } = recordingFormat(source);
    this.#video = video && new VideoDepacketizer(video);
    this.#source = source;
    this.stream = source.name;
    this.path = path;
    this.#onEnded = onEnded;
    this.#remove = source.addSink(this);
    source.requestKeyFrame();
  }

  get durationMs(): number {
    return this.#writer?.durationMs ?? 0;
  }

  get bytes(): number {
    return this.#writer?.bytes ?? 0;
  }

  /** Opens the file with these tracks; false when the video cannot start yet (H.264 before SPS/PPS). */
  #open(video: WebmTrack | undefined): boolean {
    if (this.#video && !video) return false;
    const tracks: WebmTrack[] = [];
    if (video) tracks.push(video);
    if (this.#source.audio) tracks.push(opusTrack(2));
    this.#writer = new WebmWriter(this.path, tracks);
    this.#startWall = Date.now();
    return true;
  }

  onRtp(kind: TrackKind, packet: Buffer): void {
    if (this.#finished) return;
    const p = tryParseRtp(packet);
    if (!p) return;
    const now = Date.now();
    if (kind === 'video') {
      const depack = this.#video;
      if (!depack) return;
      const frame = depack.push(p);
      if ((depack.needKeyFrame || !this.#writer) && now - this.#lastPli > 500) {
        this.#lastPli = now;
        this.#source.requestKeyFrame();
      }
      if (!frame) return;
      if (!this.#writer && (!frame.keyFrame || !this.#open(videoTrack(1, depack.codec, depack.keyFrameInfo(frame))))) return;
      this.#write(kind, 1, this.#videoClock.ms(frame.timestamp), frame.data, frame.keyFrame, now);
    } else {
      if (!this.#writer && this.#source.video) return;
      if (!this.#writer) this.#open(undefined);
      const frame = depacketizeOpus(p);
      if (frame) this.#write(kind, 2, this.#audioClock.ms(frame.timestamp), frame.data, true, now);
    }
  }

  #write(kind: TrackKind, track: number, ms: number, data: Buffer, key: boolean, now: number): void {
    const offset = (this.#offsets[kind] ??= now - (this.#startWall ?? now) - ms);
    this.#writer?.addFrame(track, offset + ms, data, key, kind === 'video');
  }

  onEnded(reason: string): void {
    this.#remove = undefined;
    this.finish();
    this.#onEnded(reason);
  }

  /** Detaches and finalizes the file. Idempotent. Returns false if nothing was recorded. */
  finish(): boolean {
    if (this.#finished) return this.#writer !== undefined;
    this.#finished = true;
    this.#remove?.();
    this.#remove = undefined;
    this.#writer?.finish();
    return this.#writer !== undefined;
  }
}
