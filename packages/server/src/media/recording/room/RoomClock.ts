/**
 * One clock for a room recording: milliseconds since the recording started (monotonic). Each
 * track's RTP timestamps are mapped onto it through the publisher's RTCP sender reports (NTP ↔ RTP):
 * `roomMs = ntpMs(SR) + (ts − rtp(SR)) / rate + offset(member)`. The offset is one per member (taken
 * at the first sender report of any of its tracks: room time of arrival − its NTP time), so a
 * member's audio and video stay exactly as in sync as its sender reports say, whatever their own
 * network delays. A track whose publisher sends no sender report within `srWaitMs` is mapped by
 * the arrival time of its first frame instead (documented in docs/recording.md).
 */
import type { Producer } from '../../../sfu/Producer.ts';

const NTP_EPOCH_OFFSET_SEC = 2_208_988_800;

export function ntpMs(ntpSec: number, ntpFrac: number): number {
  return (ntpSec - NTP_EPOCH_OFFSET_SEC) * 1000 + (ntpFrac / 0x1_0000_0000) * 1000;
}

export class RoomClock {
  /** performance.now() at the start of the recording. */
  readonly origin: number;
  readonly #memberOffsets = new Map<string, number>();

  constructor(origin = performance.now()) {
    this.origin = origin;
  }

  /** Room time now (ms since the start). */
  now(): number {
    return performance.now() - this.origin;
  }

  /** Room time of a performance.now() instant. */
  at(mono: number): number {
    return mono - this.origin;
  }

  /** The member's NTP → room offset, fixed at its first sender report seen. */
  memberOffset(member: string, srNtpMs: number, srArrivedMono: number): number {
    let offset = this.#memberOffsets.get(member);
    if (offset === undefined) {
      offset = this.at(srArrivedMono) - srNtpMs;
      this.#memberOffsets.set(member, offset);
    }
    return offset;
  }
}

/** How one RTP stream (a producer, or one simulcast layer) maps onto the room clock. */
export class StreamTimeline {
  readonly #clock: RoomClock;
  readonly #member: string;
  readonly #producer: Producer;
  readonly #rate: number;
  #arrivalAnchor: { ts: number; ms: number } | undefined;
  /** 'sr' once mapped by sender reports, 'arrival' once fallen back. */
  mode: 'pending' | 'sr' | 'arrival' = 'pending';

  constructor(clock: RoomClock, member: string, producer: Producer) {
    this.#clock = clock;
    this.#member = member;
    this.#producer = producer;
    this.#rate = producer.codec.clockRate;
  }

  /** Whether a sender report maps this stream (or it fell back to arrival time). */
  get ready(): boolean {
    if (this.mode === 'pending' && this.#producer.lastSenderReport) this.mode = 'sr';
    return this.mode !== 'pending';
  }

  /** Gives up waiting for sender reports: maps by arrival, anchored at this frame. */
  fallBack(ts: number, arrivalMs: number): void {
    if (this.mode !== 'pending') return;
    this.mode = 'arrival';
    this.#arrivalAnchor = { ts, ms: arrivalMs };
  }

  /** Room ms of an RTP timestamp (call when `ready`). */
  toRoomMs(ts: number): number {
    if (this.mode === 'arrival' && this.#arrivalAnchor) {
      return this.#arrivalAnchor.ms + (((ts - this.#arrivalAnchor.ts) | 0) * 1000) / this.#rate;
    }
    const sr = this.#producer.lastSenderReport!;
    const srMs = ntpMs(sr.ntpSec, sr.ntpFrac);
    const offset = this.#clock.memberOffset(this.#member, srMs, this.#producer.lastSenderReportAt);
    return srMs + offset + (((ts - sr.rtpTimestamp) | 0) * 1000) / this.#rate;
  }
}
