/**
 * The video side of a recording without transcoding, shared by stream recordings (Recorder) and
 * room tracks (TrackRecorder): reassembles VP8 frames or H.264 access units from RTP, reads a key
 * frame's picture size (VP8 frame header, H.264 SPS) and the H.264 decoder configuration (avcC from
 * the SPS/PPS seen so far), and builds the Matroska track a file opens with. VP8 files are WebM,
 * files with H.264 are Matroska (`.mkv`): WebM has no H.264.
 */
import type { RtpPacket } from '@parley-rtc/rtc/rtp/rtp';
import { Vp8Depacketizer, vp8KeyFrameSize, type DepacketizedFrame } from '@parley-rtc/rtc/rtp/vp8';
import { H264Depacketizer, avcDecoderConfig, h264SpsSize } from '@parley-rtc/rtc/rtp/h264';
import type { WebmTrack } from './WebmWriter.ts';

export type RecordedVideoCodec = 'vp8' | 'h264';

/** Video codecs recorded as they are. */
export function isRecordedVideo(codec: string): codec is RecordedVideoCodec {
  return codec === 'vp8' || codec === 'h264';
}

/** The file type a recording with this video codec (undefined: audio only) is written as. */
export function recordingContainer(video: RecordedVideoCodec | undefined): 'webm' | 'mkv' {
  return video === 'h264' ? 'mkv' : 'webm';
}

/** What a key frame tells the file: its picture size and (H.264) the avcC, once SPS and PPS were seen. */
export interface KeyFrameInfo {
  width: number | undefined;
  height: number | undefined;
  config: Buffer | undefined;
}

export class VideoDepacketizer {
  readonly codec: RecordedVideoCodec;
  readonly #d: Vp8Depacketizer | H264Depacketizer;

  constructor(codec: RecordedVideoCodec) {
    this.codec = codec;
    this.#d = codec === 'h264' ? new H264Depacketizer() : new Vp8Depacketizer();
  }

  /** True from a loss (or the start) until the next key frame: send a PLI. */
  get needKeyFrame(): boolean {
    return this.#d.needKeyFrame;
  }

  push(p: RtpPacket): DepacketizedFrame | undefined {
    return this.#d.push(p);
  }

  /** Call for a key frame this depacketizer returned. */
  keyFrameInfo(frame: DepacketizedFrame): KeyFrameInfo {
    const d = this.#d;
    if (d instanceof Vp8Depacketizer) {
      const size = vp8KeyFrameSize(frame.data);
      return { width: size?.width, height: size?.height, config: undefined };
    }
    const size = d.sps && h264SpsSize(d.sps);
    return { width: size?.width, height: size?.height, config: d.sps && d.pps ? avcDecoderConfig(d.sps, d.pps) : undefined };
  }
}

/**
 * The Matroska track a video file opens with at a key frame (unknown sizes default to 640×480),
 * or undefined when this key frame cannot start it: H.264 before SPS and PPS were seen.
 */
export function videoTrack(
  number: number,
  codec: RecordedVideoCodec,
  key: { width: number | undefined; height: number | undefined; config: Buffer | undefined },
): WebmTrack | undefined {
  const size = { width: key.width ?? 640, height: key.height ?? 480 };
  if (codec === 'vp8') return { number, kind: 'video', codecId: 'V_VP8', ...size };
  return key.config ? { number, kind: 'video', codecId: 'V_MPEG4/ISO/AVC', codecPrivate: key.config, ...size } : undefined;
}
