/**
 * Plays a pre-encoded clip as one RTP stream in real time, looping, to every attached track (the
 * mesh links and the SFU publication of one participant share it, as they would share a browser's
 * encoder). Each packet's header is written once; a sink with another payload type gets that byte
 * patched before its send (libdatachannel copies the bytes on send). A key-frame request from any
 * receiver, or a new sink, makes the stream continue at the next key frame of the clip.
 */
import { randomSsrc, writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { ntpNow, RTCP_PSFB, writeSenderReport, type RtcpPacket } from '@parley-rtc/rtc/rtp/rtcp';
import type { EncodedClip } from './clip.ts';

/** Where a playout sends: a track that is open or not (a closed sink returns false and is dropped). */
export interface RtpSink {
  readonly payloadType: number;
  readonly isOpen: boolean;
  readonly closed: boolean;
  sendRtp(packet: Buffer): boolean;
  /** RTCP to the receiver (sender reports); a sink without it gets none. */
  sendRtcp?(packet: Buffer): boolean;
}

export interface PlayoutOptions {
  /**
   * A clock shared by a participant's playouts (performance.now() ms): each plays the clip frame due
   * at `now − epoch` and stamps RTP time from it, so audio and video of one clip stay in sync as a
   * camera and a microphone would (and the sender reports say so).
   */
  epoch?: number;
}

/** How often sender reports (NTP ↔ RTP time) go to every sink. */
const SENDER_REPORT_MS = 1000;

export class Playout {
  readonly ssrc = randomSsrc();
  readonly clip: EncodedClip;
  framesSent = 0;
  packetsSent = 0;
  readonly #sinks = new Set<RtpSink>();
  #seq = Math.floor(Math.random() * 0x10000);
  #ts = Math.floor(Math.random() * 0x1_0000_0000);
  #idx = 0;
  #timer: NodeJS.Timeout | undefined;
  #wantKeyFrame = false;
  #closed = false;
  #paused = false;
  readonly #epoch: number | undefined;
  /** performance.now() that RTP time `#tsAtT0` stands for. */
  #t0 = 0;
  #tsAtT0 = 0;
  #srTimer: NodeJS.Timeout | undefined;

  constructor(clip: EncodedClip, options: PlayoutOptions = {}) {
    this.clip = clip;
    this.#epoch = options.epoch;
  }

  /** While paused (a muted microphone or camera), frames go by unsent; RTP time keeps running. */
  setPaused(paused: boolean): void {
    if (this.#paused && !paused) this.requestKeyFrame();
    this.#paused = paused;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get kind(): 'audio' | 'video' {
    return this.clip.kind;
  }

  get sinks(): number {
    return this.#sinks.size;
  }

  /** Sends to `sink` from now on (starting at a key frame); returns the function that detaches it. */
  attach(sink: RtpSink): () => void {
    if (this.#closed) return () => undefined;
    this.#sinks.add(sink);
    this.requestKeyFrame();
    this.#start();
    return () => {
      this.#sinks.delete(sink);
    };
  }

  /** The next frame sent is the clip's next key frame (a receiver sent PLI/FIR, or joined). */
  requestKeyFrame(): void {
    if (this.clip.kind === 'video') this.#wantKeyFrame = true;
  }

  /** Stops the timer and forgets every sink. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#srTimer);
    this.#timer = undefined;
    this.#srTimer = undefined;
    this.#sinks.clear();
  }

  #start(): void {
    if (this.#timer || this.#closed) return;
    const rate = this.clip.clockRate;
    let t0 = performance.now();
    let elapsedTicks = 0;
    if (this.#epoch !== undefined) {
      // start with the frame due now on the shared clock (clips have frames of one duration)
      const frameTicks = this.clip.frames[0]!.duration;
      const n = Math.max(0, Math.floor(((t0 - this.#epoch) * rate) / 1000 / frameTicks));
      this.#idx = n % this.clip.frames.length;
      elapsedTicks = n * frameTicks;
      t0 = this.#epoch;
      this.#ts = (this.#ts + elapsedTicks) >>> 0;
    }
    this.#t0 = t0;
    this.#tsAtT0 = (this.#ts - elapsedTicks) >>> 0;
    this.#srTimer ??= setInterval(() => this.#senderReport(), SENDER_REPORT_MS);
    const tick = (): void => {
      this.#timer = undefined;
      if (this.#closed) return;
      // Catch up on frames that are due (a late timer sends them back to back), at most ~1 s.
      let budget = 50;
      while (t0 + (elapsedTicks * 1000) / rate <= performance.now() && budget-- > 0) elapsedTicks += this.#sendFrame();
      if (budget < 0) elapsedTicks = ((performance.now() - t0) * rate) / 1000;
      const next = t0 + (elapsedTicks * 1000) / rate - performance.now();
      this.#timer = setTimeout(tick, Math.max(0, next));
    };
    tick();
  }

  /** A sender report to every sink that takes RTCP: wall-clock now ↔ the RTP time of now. */
  #senderReport(): void {
    const now = performance.now();
    const rtpTimestamp = (this.#tsAtT0 + Math.round(((now - this.#t0) * this.clip.clockRate) / 1000)) >>> 0;
    const sr = writeSenderReport({ ssrc: this.ssrc, ...ntpNow(Date.now()), rtpTimestamp, packetCount: this.packetsSent, octetCount: 0 });
    for (const sink of this.#sinks) {
      if (!sink.isOpen || sink.closed || !sink.sendRtcp) continue;
      try {
        sink.sendRtcp(sr);
      } catch {
        // a sink that closes drops out on the next frame
      }
    }
  }

  /** Sends one frame to every open sink; returns its duration in clock ticks. */
  #sendFrame(): number {
    const frames = this.clip.frames;
    // On a shared clock the clip's own key frames must do: jumping ahead would break the sync.
    if (this.#wantKeyFrame && this.#epoch === undefined) {
      this.#wantKeyFrame = false;
      for (let i = 0; i < frames.length; i++) {
        const j = (this.#idx + i) % frames.length;
        if (frames[j]!.key) {
          this.#idx = j;
          break;
        }
      }
    }
    const frame = frames[this.#idx]!;
    this.#idx = (this.#idx + 1) % frames.length;
    const last = frame.payloads.length - 1;
    const sinks = [...this.#sinks];
    if (!this.#paused)
      frame.payloads.forEach((payload, i) => {
        const packet = writeRtp({
          marker: i === last,
          payloadType: sinks[0]?.payloadType ?? 96,
          sequenceNumber: this.#seq,
          timestamp: this.#ts,
          ssrc: this.ssrc,
          payload,
        });
        this.#seq = (this.#seq + 1) & 0xffff;
        for (const sink of sinks) {
          if (sink.closed) {
            this.#sinks.delete(sink);
            continue;
          }
          if (!sink.isOpen) continue;
          packet[1] = (i === last ? 0x80 : 0) | sink.payloadType;
          if (sink.sendRtp(packet)) this.packetsSent++;
        }
      });
    this.#ts = (this.#ts + frame.duration) >>> 0;
    this.framesSent++;
    return frame.duration;
  }
}

/** True when an RTCP compound asks the sender for a key frame (PLI, or FIR: PSFB format 4). */
export function asksForKeyFrame(packets: readonly RtcpPacket[]): boolean {
  return packets.some((p) => p.type === 'pli' || (p.type === 'other' && p.packetType === RTCP_PSFB && p.fmt === 4));
}
