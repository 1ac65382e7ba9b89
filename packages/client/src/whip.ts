/**
 * A tiny, framework-free WHIP (RFC 9725) publisher: send-only transceivers for the given stream's
 * tracks, POST the offer as application/sdp, DELETE the session resource to stop.
 */
import { negotiate } from './whep.ts';

export interface WhipOptions {
  rtcConfig?: RTCConfiguration;
  gatheringTimeoutMs?: number;
  /** Prefer this video codec (mime type, e.g. 'video/VP8'); the server accepts VP8 and H.264. */
  preferVideoCodec?: string;
  fetch?: typeof fetch;
}

export class WhipPublisher {
  readonly pc: RTCPeerConnection;
  #resource: string | undefined;
  #fetch: typeof fetch;
  #closed = false;

  private constructor(pc: RTCPeerConnection, doFetch: typeof fetch) {
    this.pc = pc;
    this.#fetch = doFetch;
  }

  /** Publishes `media` to `endpoint` (e.g. `/whip/mystream`). The caller owns the tracks. */
  static async publish(endpoint: string, media: MediaStream, options: WhipOptions = {}): Promise<WhipPublisher> {
    const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    const pc = new RTCPeerConnection({ iceServers: [], ...options.rtcConfig });
    const pub = new WhipPublisher(pc, doFetch);
    try {
      for (const track of media.getTracks()) {
        const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
        const prefer = options.preferVideoCodec ?? 'video/VP8';
        if (track.kind === 'video' && typeof RTCRtpSender.getCapabilities === 'function') {
          const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
          const sorted = [...codecs.filter((c) => c.mimeType === prefer), ...codecs.filter((c) => c.mimeType !== prefer)];
          if (sorted.length > 0) t.setCodecPreferences(sorted);
        }
      }
      await negotiate(pc, endpoint, doFetch, options.gatheringTimeoutMs ?? 2000, (url) => (pub.#resource = url));
      return pub;
    } catch (err) {
      await pub.close();
      throw err;
    }
  }

  /** Stops publishing and deletes the session on the server. Idempotent. Tracks are not stopped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.pc.close();
    if (this.#resource) await this.#fetch(this.#resource, { method: 'DELETE' }).catch(() => undefined);
  }
}
