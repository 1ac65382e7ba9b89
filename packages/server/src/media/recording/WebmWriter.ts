/**
 * A small WebM (Matroska) muxer for VP8, H.264 and Opus frames, no transcoding: EBML header, Segment,
 * Info, Tracks, then one Cluster per video key frame (or every 5 s). On `finish()` it patches the
 * Segment size and the Duration so players and ffprobe see the real length. WebM has no H.264: a
 * file with an H.264 track (`V_MPEG4/ISO/AVC`, AVC length-prefixed samples, CodecPrivate = avcC)
 * gets the `matroska` DocType (write it as `.mkv`); VP8/Opus files stay `webm`.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { opusHead } from '@parley-rtc/rtc/rtp/opus';

function vintSize(n: number): Buffer {
  for (let len = 1; len <= 8; len++) {
    if (n < 2 ** (7 * len) - 1) {
      const b = Buffer.alloc(len);
      let v = n;
      for (let i = len - 1; i >= 0; i--) {
        b[i] = v & 0xff;
        v = Math.floor(v / 256);
      }
      b[0]! |= 1 << (8 - len);
      return b;
    }
  }
  throw new RangeError('EBML size too large');
}

function idBytes(id: number): Buffer {
  const len = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
  const b = Buffer.alloc(len);
  b.writeUIntBE(id, 0, len);
  return b;
}

function el(id: number, data: Buffer | Buffer[]): Buffer {
  const body = Array.isArray(data) ? Buffer.concat(data) : data;
  return Buffer.concat([idBytes(id), vintSize(body.length), body]);
}

function uint(id: number, v: number): Buffer {
  let len = 1;
  while (len < 8 && v >= 2 ** (8 * len)) len++;
  const b = Buffer.alloc(len);
  let x = v;
  for (let i = len - 1; i >= 0; i--) {
    b[i] = x & 0xff;
    x = Math.floor(x / 256);
  }
  return el(id, b);
}

function float(id: number, v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return el(id, b);
}

function str(id: number, v: string): Buffer {
  return el(id, Buffer.from(v, 'utf8'));
}

export interface WebmTrack {
  number: number;
  kind: 'video' | 'audio';
  codecId: 'V_VP8' | 'V_MPEG4/ISO/AVC' | 'A_OPUS';
  width?: number;
  height?: number;
  channels?: number;
  sampleRate?: number;
  /** Opus: the OpusHead; H.264: the AVCDecoderConfigurationRecord (avcC), required. */
  codecPrivate?: Buffer;
  /** Opus pre-skip etc. in ns, optional. */
  codecDelayNs?: number;
}

/** An Opus track as WebRTC sends it (stereo OpusHead, 48 kHz, the usual 6.5 ms pre-skip). */
export function opusTrack(number: number): WebmTrack {
  return { number, kind: 'audio', codecId: 'A_OPUS', channels: 2, sampleRate: 48000, codecPrivate: opusHead(2), codecDelayNs: 6_500_000 };
}

const CLUSTER_MAX_MS = 5000;

export class WebmWriter {
  readonly path: string;
  #fd: number;
  #offset = 0;
  #segmentSizeOffset = 0;
  #segmentDataStart = 0;
  #durationOffset = 0;
  #cluster: Buffer[] = [];
  #clusterStart = 0;
  #hasCluster = false;
  #lastMs = 0;
  #firstMs: number | undefined;
  #finished = false;
  bytes = 0;
  frames = 0;

  constructor(path: string, tracks: WebmTrack[]) {
    this.path = path;
    for (const t of tracks) if (t.codecId === 'V_MPEG4/ISO/AVC' && !t.codecPrivate) throw new TypeError('an H.264 track needs its avcC');
    this.#fd = openSync(path, 'w');
    const ebml = el(0x1a45dfa3, [
      uint(0x4286, 1),
      uint(0x42f7, 1),
      uint(0x42f2, 4),
      uint(0x42f3, 8),
      str(0x4282, tracks.some((t) => t.codecId === 'V_MPEG4/ISO/AVC') ? 'matroska' : 'webm'),
      uint(0x4287, 4),
      uint(0x4285, 2),
    ]);
    this.#write(ebml);
    this.#write(idBytes(0x18538067));
    this.#segmentSizeOffset = this.#offset;
    this.#write(Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])); // unknown size, patched later
    this.#segmentDataStart = this.#offset;
    const infoHead = Buffer.concat([uint(0x2ad7b1, 1_000_000), str(0x4d80, 'parley'), str(0x5741, 'parley')]);
    const durationEl = float(0x4489, 0);
    const info = el(0x1549a966, [infoHead, durationEl]);
    this.#durationOffset = this.#offset + info.length - 8;
    this.#write(info);
    const entries = tracks.map((t) =>
      el(0xae, [
        uint(0xd7, t.number),
        uint(0x73c5, t.number),
        uint(0x83, t.kind === 'video' ? 1 : 2),
        str(0x86, t.codecId),
        ...(t.codecPrivate ? [el(0x63a2, t.codecPrivate)] : []),
        ...(t.codecDelayNs ? [uint(0x56aa, t.codecDelayNs)] : []),
        ...(t.kind === 'video'
          ? [el(0xe0, [uint(0xb0, t.width ?? 640), uint(0xba, t.height ?? 480)])]
          : [el(0xe1, [float(0xb5, t.sampleRate ?? 48000), uint(0x9f, t.channels ?? 2)])]),
      ]),
    );
    this.#write(el(0x1654ae6b, entries));
  }

  #write(b: Buffer): void {
    writeSync(this.#fd, b, 0, b.length, this.#offset);
    this.#offset += b.length;
    this.bytes = this.#offset;
  }

  /** Adds one frame at `ms` (milliseconds from the start; must not go backwards by > 30 s). */
  addFrame(trackNumber: number, ms: number, data: Buffer, keyFrame: boolean, isVideo: boolean): void {
    if (this.#finished) return;
    const t = Math.max(0, Math.round(ms));
    this.#firstMs ??= t;
    if (!this.#hasCluster || (isVideo && keyFrame) || t - this.#clusterStart > CLUSTER_MAX_MS || t < this.#clusterStart) {
      this.#flushCluster();
      this.#clusterStart = t;
      this.#hasCluster = true;
    }
    const rel = Math.max(-32768, Math.min(32767, t - this.#clusterStart));
    const head = Buffer.alloc(4);
    head[0] = 0x80 | trackNumber;
    head.writeInt16BE(rel, 1);
    head[3] = keyFrame ? 0x80 : 0x00;
    this.#cluster.push(el(0xa3, [head, data]));
    this.#lastMs = Math.max(this.#lastMs, t);
    this.frames++;
  }

  #flushCluster(): void {
    if (!this.#hasCluster || this.#cluster.length === 0) return;
    this.#write(el(0x1f43b675, [uint(0xe7, this.#clusterStart), ...this.#cluster]));
    this.#cluster = [];
  }

  /** Duration so far, in ms. */
  get durationMs(): number {
    return this.#firstMs === undefined ? 0 : this.#lastMs - this.#firstMs;
  }

  /** Writes the last cluster, patches Segment size and Duration, closes the file. Idempotent. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#flushCluster();
    const size = this.#offset - this.#segmentDataStart;
    const sizeBuf = Buffer.alloc(8);
    sizeBuf[0] = 0x01; // 8-byte vint marker, then the size in 7 bytes
    let v = size;
    for (let i = 7; i >= 1; i--) {
      sizeBuf[i] = v & 0xff;
      v = Math.floor(v / 256);
    }
    writeSync(this.#fd, sizeBuf, 0, 8, this.#segmentSizeOffset);
    const dur = Buffer.alloc(8);
    dur.writeDoubleBE(this.#lastMs + (this.frames > 0 ? 33 : 0));
    writeSync(this.#fd, dur, 0, 8, this.#durationOffset);
    closeSync(this.#fd);
  }
}
