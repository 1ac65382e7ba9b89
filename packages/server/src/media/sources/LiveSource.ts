/**
 * A stream fed by a live publisher (WHIP). The publisher's receiving tracks call `push()`; key
 * frame requests from sinks become RTCP PLI to the publisher (at most one per 500 ms).
 */
import type { CodecSpec } from '@parley-rtc/rtc/sdp';
import { StreamSource, type TrackKind } from './StreamSource.ts';

export interface LiveSourceInit {
  name: string;
  video: CodecSpec | undefined;
  audio: CodecSpec | undefined;
  /** Sends a PLI to the publisher. */
  requestKeyFrame: () => void;
}

const PLI_INTERVAL_MS = 500;

export class LiveSource extends StreamSource {
  readonly name: string;
  readonly kind = 'live' as const;
  readonly video: CodecSpec | undefined;
  readonly audio: CodecSpec | undefined;
  readonly #requestKeyFrame: () => void;
  #lastPli = 0;

  constructor(init: LiveSourceInit) {
    super();
    this.name = init.name;
    this.video = init.video;
    this.audio = init.audio;
    this.#requestKeyFrame = init.requestKeyFrame;
  }

  push(kind: TrackKind, packet: Buffer): void {
    this.dispatch(kind, packet);
  }

  override requestKeyFrame(): void {
    const now = Date.now();
    if (now - this.#lastPli < PLI_INTERVAL_MS) return;
    this.#lastPli = now;
    this.#requestKeyFrame();
    super.requestKeyFrame();
  }

  /** The publisher left. */
  async close(): Promise<void> {
    this.end('publisher left');
  }
}
