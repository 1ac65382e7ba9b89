/**
 * The room audio mix: one Opus stream with everyone a room's Router forwards, for viewers who are
 * not members (the active-speaker WHEP view, media/rooms/SpeakerView.ts). It taps the router's Opus
 * producers (`Producer.addTap`: a producer muted by an admin is not forwarded, so not mixed),
 * decodes each into a MixInput, and every 20 ms (clocked by performance.now(), not by the timer's
 * spacing) sums the playing inputs with clipping, encodes Opus (opusscript: libopus in wasm) and
 * feeds the RTP packet to its own Producer. That producer is registered with the router unannounced
 * (`attachRelay(p, { announce: false })`): viewers' consumers take it like any producer, members
 * are never told of it (they would hear themselves).
 *
 * One mix per router, shared by its viewers (`acquire`/`release`): CPU grows with the inputs, not
 * the viewers. At most `maxInputs` (default 16) producers are mixed, the first ones published; when
 * one ends the next waiting one joins. It closes when its last user releases it, or with the router.
 */
import { randomUUID } from 'node:crypto';
import OpusScript from 'opusscript';
import pino from 'pino';
import { randomSsrc, writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import type { Logger } from '../../util/logger.ts';
import { Producer } from '../Producer.ts';
import type { Router } from '../Router.ts';
import { FRAME_SAMPLES, MixInput, type MixInputOptions } from './MixInput.ts';

const FRAME_MS = 20;
const PAYLOAD_TYPE = 111;
/** Frames produced at once after the event loop stalled; beyond that the clock skips ahead. */
const MAX_CATCH_UP = 5;

export interface RoomAudioMixOptions {
  log?: Logger;
  /** Producers mixed at most (default 16). */
  maxInputs?: number;
  /** Opus bitrate of the mix (default 48 kbit/s). */
  bitrate?: number;
  input?: MixInputOptions;
}

export interface RoomAudioMixStats {
  /** 20 ms frames encoded and sent. */
  frames: number;
  /** Frames skipped after the event loop stalled (the RTP clock still advanced). */
  skippedFrames: number;
  /** Sum over the frames of the inputs that played in each. */
  inputFrames: number;
  /** Samples that exceeded 16 bits and were clipped. */
  clipped: number;
}

interface Tapped {
  input: MixInput;
  untap: () => void;
}

const mixes = new WeakMap<Router, RoomAudioMix>();

export class RoomAudioMix {
  /** The mix's producer (unannounced): subscribe viewers to `producer.id`. */
  readonly producer: Producer;
  readonly stats: RoomAudioMixStats = { frames: 0, skippedFrames: 0, inputFrames: 0, clipped: 0 };
  readonly #router: Router;
  readonly #log: Logger;
  readonly #opts: RoomAudioMixOptions;
  readonly #maxInputs: number;
  readonly #inputs = new Map<string, Tapped>();
  readonly #encoder: OpusScript;
  readonly #acc = new Int32Array(FRAME_SAMPLES);
  readonly #samples = new Int16Array(FRAME_SAMPLES);
  /** The same memory as bytes, for the encoder (native-endian: little-endian wherever Node runs). */
  readonly #pcm = Buffer.from(this.#samples.buffer);
  readonly #ssrc = randomSsrc();
  readonly #offs: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #t0 = 0;
  /** Frames the clock has accounted for (sent or skipped). */
  #clockFrames = 0;
  #seq = Math.floor(Math.random() * 0x10000);
  #ts = Math.floor(Math.random() * 0x100000000);
  #users = 0;
  #closeReason: string | undefined;

  /** The router's running mix, if any (diagnostics and tests). */
  static of(router: Router): RoomAudioMix | undefined {
    return mixes.get(router);
  }

  /**
   * Joins the router's mix, starting it for the first user. `release()` (idempotent) leaves it; the
   * last one out closes it.
   */
  static acquire(router: Router, opts: RoomAudioMixOptions = {}): { mix: RoomAudioMix; release: () => void } {
    let mix = mixes.get(router);
    if (!mix || mix.closed) {
      mix = new RoomAudioMix(router, opts);
      mixes.set(router, mix);
    }
    const joined = mix;
    joined.#users++;
    let released = false;
    return {
      mix: joined,
      release: () => {
        if (released) return;
        released = true;
        if (--joined.#users <= 0) joined.close('unused');
      },
    };
  }

  constructor(router: Router, opts: RoomAudioMixOptions = {}) {
    this.#router = router;
    this.#opts = opts;
    this.#log = opts.log ?? pino({ enabled: false });
    this.#maxInputs = opts.maxInputs ?? 16;
    const id = `mix-${randomUUID()}`;
    this.producer = new Producer({
      id,
      connectionId: id,
      kind: 'audio',
      codec: { kind: 'audio', name: 'opus', clockRate: 48_000, channels: 2 },
      payloadType: PAYLOAD_TYPE,
      ssrc: this.#ssrc,
      sendKeyFrameRequest: () => undefined,
    });
    router.attachRelay(this.producer, { announce: false }); // throws on a closed router, before anything needs freeing
    this.#encoder = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
    this.#encoder.setBitrate(opts.bitrate ?? 48_000);
    this.producer.once('close', () => this.close('producer closed'));
    this.#offs.push(
      router.on('producer', () => this.#fill()),
      router.on('producerclose', (pid) => {
        this.#remove(pid);
        this.#fill();
      }),
      router.once('close', () => this.close('router closed')),
    );
    this.#fill();
    this.#t0 = performance.now();
    this.#timer = setInterval(() => this.#tick(), FRAME_MS / 2);
    this.#timer.unref();
    this.#log.info({ room: router.id, producerId: id }, 'room audio mix started');
  }

  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Whether its clock runs (false once closed). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** The producers mixed now (tapped; not necessarily playing). */
  get inputs(): string[] {
    return [...this.#inputs.keys()];
  }

  /** Viewers (or other users) holding it. */
  get users(): number {
    return this.#users;
  }

  /** Taps the router's Opus producers up to `maxInputs`, in publishing order. */
  #fill(): void {
    if (this.closed) return;
    for (const info of this.#router.producers()) {
      if (this.#inputs.size >= this.#maxInputs) return;
      if (info.kind !== 'audio' || info.codec !== 'opus' || info.id === this.producer.id || this.#inputs.has(info.id)) continue;
      const p = this.#router.producer(info.id);
      if (!p || p.closed) continue;
      const input = new MixInput(info.id, this.#opts.input);
      this.#inputs.set(info.id, { input, untap: p.addTap((pkt) => input.push(pkt)) });
    }
  }

  #remove(producerId: string): void {
    const t = this.#inputs.get(producerId);
    if (!t) return;
    this.#inputs.delete(producerId);
    t.untap();
    t.input.close();
  }

  #tick(): void {
    if (this.closed) return;
    const due = Math.floor((performance.now() - this.#t0) / FRAME_MS);
    let n = due - this.#clockFrames;
    if (n > MAX_CATCH_UP) {
      const skip = n - 1;
      this.#clockFrames += skip;
      this.#ts = (this.#ts + skip * FRAME_SAMPLES) >>> 0;
      this.stats.skippedFrames += skip;
      n = 1;
    }
    for (; n > 0 && !this.closed; n--) this.#frame();
  }

  /** Mixes, encodes and sends one 20 ms frame. */
  #frame(): void {
    const acc = this.#acc;
    acc.fill(0);
    for (const { input } of this.#inputs.values()) if (input.mixInto(acc)) this.stats.inputFrames++;
    const out = this.#samples;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      let s = acc[i]!;
      if (s > 32767) {
        s = 32767;
        this.stats.clipped++;
      } else if (s < -32768) {
        s = -32768;
        this.stats.clipped++;
      }
      out[i] = s;
    }
    let payload: Buffer;
    try {
      payload = this.#encoder.encode(this.#pcm, FRAME_SAMPLES);
    } catch (err) {
      this.#log.warn({ err, room: this.#router.id }, 'room audio mix: encode failed');
      this.close('encode failed');
      return;
    }
    const first = this.stats.frames === 0;
    this.producer.receiveRtp(
      writeRtp({ marker: first, payloadType: PAYLOAD_TYPE, sequenceNumber: this.#seq, timestamp: this.#ts, ssrc: this.#ssrc, payload }),
    );
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + FRAME_SAMPLES) >>> 0;
    this.#clockFrames++;
    this.stats.frames++;
  }

  /** Idempotent: stops the clock, removes the taps and listeners, closes its producer (its consumers end). */
  close(reason = 'close'): void {
    if (this.closed) return;
    this.#closeReason = reason;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const off of this.#offs) off();
    this.#offs.length = 0;
    for (const id of [...this.#inputs.keys()]) this.#remove(id);
    if (mixes.get(this.#router) === this) mixes.delete(this.#router);
    this.producer.close('close');
    this.#encoder.delete();
    this.#log.info({ room: this.#router.id, producerId: this.producer.id, reason, frames: this.stats.frames }, 'room audio mix closed');
  }
}
