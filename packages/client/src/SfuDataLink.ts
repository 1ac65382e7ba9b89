import type { SfuDataResult } from '@parley-rtc/protocol';
import { createDataChannelPair, SFU_PATH, type DataChannelPair, type DataPathSink } from './DataChannels.ts';
import { applyIceServers } from './iceConfig.ts';
import type { PeerLinkOptions } from './PeerLink.ts';
import { gathered } from './whep.ts';

/** @internal */
export interface SfuDataLinkOptions {
  sfuData(sdp: string): Promise<SfuDataResult>;
  iceServers: RTCIceServer[];
  createPeerConnection: PeerLinkOptions['createPeerConnection'];
  sink: DataPathSink;
  gatheringTimeoutMs?: number;
  /** Delay before reconnecting a failed data connection (default 1000 ms; doubles up to 8×). */
  retryMs?: number;
  onError(err: Error): void;
}

/**
 * Our data connection to the room's SFU (`sfu_data`): one RTCPeerConnection with only the two
 * app-data channels, registered with the DataChannels as the SFU path. A connection that fails
 * or closes is replaced (after a growing delay) until `close()`.
 * @internal
 */
export class SfuDataLink {
  readonly #opts: SfuDataLinkOptions;
  #pc: RTCPeerConnection | undefined;
  #pair: DataChannelPair | undefined;
  #iceServers: RTCIceServer[];
  #retry: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #closed = false;

  constructor(options: SfuDataLinkOptions) {
    this.#opts = options;
    this.#iceServers = options.iceServers;
  }

  start(): void {
    if (this.#closed || this.#pc) return;
    void this.#connect();
  }

  setIceServers(iceServers: RTCIceServer[]): void {
    this.#iceServers = iceServers;
    if (this.#pc) applyIceServers(this.#pc, iceServers);
  }

  /** Closes the connection and stops retrying. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#drop();
  }

  async #connect(): Promise<void> {
    const pc = this.#opts.createPeerConnection({ iceServers: this.#iceServers });
    const pair = createDataChannelPair(pc);
    this.#pc = pc;
    this.#pair = pair;
    this.#opts.sink.attach(SFU_PATH, pair);
    pair.reliable.addEventListener('open', () => (this.#failures = 0));
    pair.reliable.addEventListener('close', () => this.#lost(pc));
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.#lost(pc);
    };
    try {
      await pc.setLocalDescription();
      await gathered(pc, this.#opts.gatheringTimeoutMs ?? 2000);
      const res = await this.#opts.sfuData(pc.localDescription?.sdp ?? '');
      if (this.#pc !== pc) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: res.answer });
    } catch (err) {
      if (this.#pc !== pc) return;
      this.#opts.onError(err instanceof Error ? err : new Error(String(err)));
      this.#lost(pc);
    }
  }

  /** The connection `pc` is gone: drop it and connect again later (once per connection). */
  #lost(pc: RTCPeerConnection): void {
    if (this.#pc !== pc || this.#closed) return;
    this.#drop();
    const delay = (this.#opts.retryMs ?? 1000) * 2 ** Math.min(this.#failures++, 3);
    this.#retry = setTimeout(() => void this.#connect(), delay);
  }

  #drop(): void {
    const pc = this.#pc;
    const pair = this.#pair;
    this.#pc = undefined;
    this.#pair = undefined;
    if (pair) {
      this.#opts.sink.detach(SFU_PATH, pair);
      pair.reliable.close();
      pair.lossy.close();
    }
    if (pc) {
      pc.onconnectionstatechange = null;
      pc.close();
    }
  }
}
