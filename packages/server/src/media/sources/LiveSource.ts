/**
 * A stream fed by a live publisher (WHIP). The publisher's receiving tracks call `push()`; key
 * frame requests from sinks become RTCP PLI to the publisher: at most one per 500 ms, and a request
 * inside that interval is sent at its end rather than dropped.
 */
import type { CodecSpec } from '@parley-rtc/rtc/sdp';
import { CoalescingThrottle } from '../../util/CoalescingThrottle.ts';
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
  readonly #pli: CoalescingThrottle;

  constructor(init: LiveSourceInit) {
    super();
    this.name = init.name;
    this.video = init.video;
    this.audio = init.audio;
    this.#pli = new CoalescingThrottle(() => {
      init.requestKeyFrame();
      super.requestKeyFrame();
    }, PLI_INTERVAL_MS);
  }

  push(kind: TrackKind, packet: Buffer): void {
    this.dispatch(kind, packet);
  }

  override requestKeyFrame(): void {
    if (!this.ended) this.#pli.request();
  }

  /** The publisher left. */
  async close(): Promise<void> {
    this.#pli.close();
    this.end('publisher left');
  }
}
