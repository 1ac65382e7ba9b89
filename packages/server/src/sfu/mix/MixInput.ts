/**
 * One input of a room audio mix (RoomAudioMix): a publisher's Opus RTP decoded into a PCM FIFO
 * (mono, 48 kHz) with a small jitter allowance. The input starts contributing once `startMs` of
 * audio is buffered, and after an underrun (it contributes what it has, padded with silence) it
 * waits for that much again; above `maxMs` the oldest audio is dropped back to `startMs` (the
 * publisher's clock runs fast, or the mix clock stalled). Late and duplicate packets are dropped;
 * a gap in RTP time (loss, DTX) up to `maxMs` becomes silence, so the input stays in time.
 */
import OpusScript from 'opusscript';
import { seqDelta } from '@parley-rtc/rtc/rtp/rtp';

/** Samples per 20 ms mix frame at 48 kHz. */
export const FRAME_SAMPLES = 960;
const RATE = 48_000;

export interface MixInputOptions {
  /** Buffered audio before the input plays (and after an underrun), default 60 ms. */
  startMs?: number;
  /** Above this much buffered audio the oldest is dropped, default 300 ms. */
  maxMs?: number;
}

export interface MixInputStats {
  packets: number;
  /** Packets older than (or the same as) one already decoded. */
  late: number;
  /** Payloads libopus refused. */
  undecodable: number;
  /** Frames the input had too little audio for (it then buffers again). */
  underruns: number;
  /** Samples dropped because the buffer exceeded `maxMs`. */
  droppedSamples: number;
}

export class MixInput {
  readonly producerId: string;
  readonly stats: MixInputStats = { packets: 0, late: 0, undecodable: 0, underruns: 0, droppedSamples: 0 };
  readonly #decoder: OpusScript;
  readonly #start: number;
  readonly #max: number;
  /** Ring buffer of samples: `#size` of them from `#read`. */
  readonly #ring: Int16Array;
  #read = 0;
  #size = 0;
  #playing = false;
  #lastSeq: number | undefined;
  /** The RTP timestamp the next packet should carry (the last one's plus its samples). */
  #nextTs: number | undefined;
  #closed = false;

  constructor(producerId: string, opts: MixInputOptions = {}) {
    this.producerId = producerId;
    this.#start = Math.round(((opts.startMs ?? 60) * RATE) / 1000);
    this.#max = Math.round(((opts.maxMs ?? 300) * RATE) / 1000);
    this.#ring = new Int16Array(this.#max + 3 * 2880); // room for the largest Opus packet (120 ms) over max
    this.#decoder = new OpusScript(RATE, 1, OpusScript.Application.AUDIO);
  }

  /** Buffered audio (samples). */
  get buffered(): number {
    return this.#size;
  }

  /** Whether it contributes to the mix now (enough audio was buffered). */
  get playing(): boolean {
    return this.#playing;
  }

  /** One RTP packet of the input (as a Producer tap sees it: a 12-byte header, maybe padding). Never throws. */
  push(pkt: Buffer): void {
    if (this.#closed || pkt.length < 12) return;
    this.stats.packets++;
    const seq = pkt.readUInt16BE(2);
    const ts = pkt.readUInt32BE(4);
    if (this.#lastSeq !== undefined) {
      const d = seqDelta(this.#lastSeq, seq);
      // late or a duplicate; a jump far back is a restarted stream and starts afresh
      if (d <= 0 && d > -1000) {
        this.stats.late++;
        return;
      }
      if (d <= 0) this.#nextTs = undefined;
    }
    this.#lastSeq = seq;
    const end = pkt[0]! & 0x20 ? pkt.length - pkt[pkt.length - 1]! : pkt.length;
    if (end <= 12) return;
    let pcm: Buffer;
    try {
      pcm = this.#decoder.decode(pkt.subarray(12, end));
    } catch {
      this.stats.undecodable++;
      return;
    }
    if (this.#nextTs !== undefined) {
      const gap = (ts - this.#nextTs) | 0;
      if (gap > 0 && gap <= this.#max) this.#silence(gap);
    }
    const samples = pcm.length >> 1;
    this.#nextTs = (ts + samples) >>> 0;
    this.#write(pcm, samples);
    if (this.#size > this.#max) this.#drop(this.#size - this.#start);
    if (!this.#playing && this.#size >= this.#start) this.#playing = true;
  }

  /** Adds the next 20 ms to `acc` (FRAME_SAMPLES long). False when it is not playing (nothing added). */
  mixInto(acc: Int32Array): boolean {
    if (!this.#playing) return false;
    const n = Math.min(FRAME_SAMPLES, this.#size);
    const ring = this.#ring;
    const cap = ring.length;
    let r = this.#read;
    for (let i = 0; i < n; i++) {
      acc[i]! += ring[r]!;
      if (++r === cap) r = 0;
    }
    this.#read = r;
    this.#size -= n;
    if (n < FRAME_SAMPLES) {
      this.stats.underruns++;
      this.#playing = false;
    }
    return true;
  }

  #write(pcm: Buffer, samples: number): void {
    const ring = this.#ring;
    const cap = ring.length;
    if (this.#size + samples > cap) this.#drop(this.#size + samples - cap);
    const w = (this.#read + this.#size) % cap;
    // libopus writes native-endian samples (little-endian on every platform Node runs on)
    const view =
      pcm.byteOffset % 2 === 0
        ? new Int16Array(pcm.buffer, pcm.byteOffset, samples)
        : new Int16Array(Uint8Array.from(pcm).buffer, 0, samples);
    const first = Math.min(samples, cap - w);
    ring.set(view.subarray(0, first), w);
    if (first < samples) ring.set(view.subarray(first), 0);
    this.#size += samples;
  }

  #silence(samples: number): void {
    const ring = this.#ring;
    const cap = ring.length;
    if (this.#size + samples > cap) this.#drop(this.#size + samples - cap);
    let w = (this.#read + this.#size) % cap;
    for (let i = 0; i < samples; i++) {
      ring[w] = 0;
      if (++w === cap) w = 0;
    }
    this.#size += samples;
  }

  #drop(samples: number): void {
    const n = Math.min(samples, this.#size);
    this.#read = (this.#read + n) % this.#ring.length;
    this.#size -= n;
    this.stats.droppedSamples += n;
  }

  /** Idempotent: frees the decoder. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#size = 0;
    this.#playing = false;
    this.#decoder.delete();
  }
}
