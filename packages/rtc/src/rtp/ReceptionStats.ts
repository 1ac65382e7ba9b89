/**
 * What a receiver reports about one incoming RTP stream (RFC 3550 §6.4.1, appendix A.3 and A.8):
 * extended highest sequence number, cumulative and fractional loss, interarrival jitter, and the
 * last sender report's timestamp with the delay since it arrived (so the sender can compute the
 * round-trip time). Senders' congestion control (e.g. Chromium's loss-based estimator) depends on
 * these reports; without them a browser stays at its start bitrate.
 *
 * `packet()` runs for every received packet: a few integer operations, no allocation.
 */
import type { ReportBlock } from './rtcp.ts';

const SEQ_MOD = 0x10000;
/** A jump of more than this many sequence numbers restarts the count (RFC 3550 A.1 MAX_DROPOUT). */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;

export class ReceptionStats {
  readonly #clockRate: number;
  #started = false;
  #baseSeq = 0;
  #maxSeq = 0;
  #cycles = 0;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  /** Jitter in timestamp units, ×16 as in RFC 3550 A.8 (integer arithmetic). */
  #jitter16 = 0;
  #lastTransit: number | undefined;
  #lastSr = 0;
  #lastSrAt: number | undefined;

  constructor(clockRate: number) {
    this.#clockRate = clockRate;
  }

  get packetsReceived(): number {
    return this.#received;
  }

  /** One received packet: its sequence number, RTP timestamp and arrival time (ms, monotonic). */
  packet(seq: number, rtpTimestamp: number, arrivalMs: number): void {
    if (!this.#started) {
      this.#started = true;
      this.#baseSeq = seq;
      this.#maxSeq = seq;
    } else {
      const delta = (seq - this.#maxSeq + SEQ_MOD) % SEQ_MOD;
      if (delta > 0 && delta < MAX_DROPOUT) {
        if (seq < this.#maxSeq) this.#cycles += SEQ_MOD;
        this.#maxSeq = seq;
      } else if (delta !== 0 && delta <= SEQ_MOD - MAX_MISORDER) {
        // a big jump (the sender restarted): count from here
        this.#baseSeq = seq;
        this.#maxSeq = seq;
        this.#cycles = 0;
        this.#received = 0;
        this.#expectedPrior = 0;
        this.#receivedPrior = 0;
      }
      // otherwise a duplicate or a late (reordered) packet: counted as received below
    }
    this.#received++;
    const arrival = Math.round((arrivalMs * this.#clockRate) / 1000);
    const transit = arrival - rtpTimestamp;
    if (this.#lastTransit !== undefined) {
      let d = transit - this.#lastTransit;
      if (d < 0) d = -d;
      // a timestamp jump (new source) would spike the jitter: ignore implausible deltas
      if (d < this.#clockRate * 10) this.#jitter16 += d - ((this.#jitter16 + 8) >> 4);
    }
    this.#lastTransit = transit;
  }

  /** The sender's report arrived (its NTP time), at `arrivalMs` (monotonic). */
  senderReport(ntpSec: number, ntpFrac: number, arrivalMs: number): void {
    this.#lastSr = (((ntpSec & 0xffff) << 16) | (ntpFrac >>> 16)) >>> 0;
    this.#lastSrAt = arrivalMs;
  }

  /** A report block for `ssrc` at `nowMs`; advances the interval used for the fraction lost. */
  reportBlock(ssrc: number, nowMs: number): ReportBlock | undefined {
    if (!this.#started) return undefined;
    const extendedMax = this.#cycles + this.#maxSeq;
    const expected = extendedMax - this.#baseSeq + 1;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, expected - this.#received));
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval << 8) / expectedInterval));
    const delaySinceLastSr = this.#lastSrAt === undefined ? 0 : Math.round(((nowMs - this.#lastSrAt) * 65536) / 1000);
    return {
      ssrc,
      fractionLost,
      packetsLost: lost,
      highestSeq: extendedMax >>> 0,
      jitter: this.#jitter16 >> 4,
      lastSr: this.#lastSrAt === undefined ? 0 : this.#lastSr,
      delaySinceLastSr: delaySinceLastSr >>> 0,
    };
  }
}
