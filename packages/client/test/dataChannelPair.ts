/**
 * Two real node-datachannel peers joined by a negotiated, reliable data channel, each side seen
 * as a FileTransferLink (what Room's data API provides in the app). `drop()` closes the channel
 * on both sides (the path goes down, buffered data is lost) and `reopen()` opens a new one.
 */
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';
import type { FileTransferLink } from '../src/fileTransfer/link.ts';

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

export class ChannelLink implements FileTransferLink {
  readonly #messageFns = new Set<(from: string, payload: string | Uint8Array) => void>();
  readonly #pathFns = new Set<(memberId: string, open: boolean) => void>();
  #channel: DataChannel | undefined;
  #lowWaiters: Array<() => void> = [];
  /** Rewrites outgoing binary frames (tests corrupt one with it). */
  tamper: ((frame: Uint8Array) => Uint8Array | undefined) | undefined;

  constructor(
    readonly self: string,
    readonly remote: string,
  ) {}

  use(channel: DataChannel): void {
    this.#channel = channel;
    channel.setBufferedAmountLowThreshold(LOW_WATER);
    channel.onBufferedAmountLow(() => this.#releaseWaiters());
    channel.onOpen(() => this.#pathChanged(true));
    channel.onClosed(() => {
      if (this.#channel !== channel) return;
      this.#channel = undefined;
      this.#releaseWaiters();
      this.#pathChanged(false);
    });
    channel.onMessage((msg) => {
      const payload =
        typeof msg === 'string'
          ? msg
          : new Uint8Array(msg instanceof ArrayBuffer ? msg : msg.buffer.slice(msg.byteOffset, msg.byteOffset + msg.byteLength));
      for (const fn of this.#messageFns) fn(this.remote, payload);
    });
  }

  get channel(): DataChannel | undefined {
    return this.#channel;
  }

  async send(to: string, payload: string | Uint8Array): Promise<void> {
    if (to !== this.remote) throw new Error(`no path to ${to}`);
    const channel = this.#channel;
    if (!channel?.isOpen()) throw new Error('the channel is closed');
    while (channel.bufferedAmount() > HIGH_WATER) {
      await new Promise<void>((resolve) => this.#lowWaiters.push(resolve));
      if (!channel.isOpen()) throw new Error('the channel closed');
    }
    const frame = typeof payload === 'string' || !this.tamper ? payload : this.tamper(payload);
    if (frame === undefined) return; // the tamper dropped it
    const ok = typeof frame === 'string' ? channel.sendMessage(frame) : channel.sendMessageBinary(frame);
    if (!ok && !channel.isOpen()) throw new Error('the channel closed');
  }

  onMessage(fn: (from: string, payload: string | Uint8Array) => void): () => void {
    this.#messageFns.add(fn);
    return () => this.#messageFns.delete(fn);
  }

  isOpen(memberId: string): boolean {
    return memberId === this.remote && this.#channel?.isOpen() === true;
  }

  onPathChange(fn: (memberId: string, open: boolean) => void): () => void {
    this.#pathFns.add(fn);
    return () => this.#pathFns.delete(fn);
  }

  #pathChanged(open: boolean): void {
    for (const fn of this.#pathFns) fn(this.remote, open);
  }

  #releaseWaiters(): void {
    for (const resolve of this.#lowWaiters.splice(0)) resolve();
  }
}

function waitOpen(channel: DataChannel, ms: number): Promise<boolean> {
  if (channel.isOpen()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    channel.onOpen(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export class DataChannelPair {
  readonly a = new ChannelLink('alice', 'bob');
  readonly b = new ChannelLink('bob', 'alice');
  #pcs: PeerConnection[] = [];
  #nextId = 10;
  /** The bootstrap channel that makes the first offer (kept referenced: a collected channel closes). */
  #boot: DataChannel[] = [];
  /** Every channel ever opened, dropped ones too, until close(): collecting one can crash cleanup(). */
  #channels: DataChannel[] = [];

  /** Connects two peers; retries once (a loopback DTLS race between two libdatachannel peers). */
  static async open(): Promise<DataChannelPair> {
    for (let attempt = 0; ; attempt++) {
      const pair = new DataChannelPair();
      if (await pair.#connect()) return pair;
      pair.close();
      if (attempt >= 1) throw new Error('the data channel pair did not connect');
    }
  }

  async #connect(): Promise<boolean> {
    const config = { iceServers: [], bindAddress: '127.0.0.1' };
    const pa = new nodeDataChannel.PeerConnection('alice', config);
    const pb = new nodeDataChannel.PeerConnection('bob', config);
    this.#pcs = [pa, pb];
    const pending: Array<[string, string]> = [];
    let answered = false;
    pa.onLocalDescription((sdp, type) => {
      pb.setRemoteDescription(sdp, type);
    });
    pb.onLocalDescription((sdp, type) => {
      pa.setRemoteDescription(sdp, type);
      answered = true;
      for (const [c, mid] of pending.splice(0)) pa.addRemoteCandidate(c, mid);
    });
    pa.onLocalCandidate((c, mid) => pb.addRemoteCandidate(c, mid));
    pb.onLocalCandidate((c, mid) => (answered ? pa.addRemoteCandidate(c, mid) : pending.push([c, mid])));
    const remoteBoot = new Promise<DataChannel>((resolve) => pb.onDataChannel(resolve));
    const boot = pa.createDataChannel('boot');
    this.#boot.push(boot);
    if (!(await waitOpen(boot, 10_000))) return false;
    this.#boot.push(await remoteBoot);
    return this.#openChannels(10_000);
  }

  /** Closes the channel on both sides: each link reports its path closed. */
  drop(): void {
    this.a.channel?.close();
    this.b.channel?.close();
  }

  /** Opens a new negotiated channel on both sides; resolves once both are open. */
  async reopen(): Promise<void> {
    if (!(await this.#openChannels(10_000))) throw new Error('the data channel did not reopen');
  }

  close(): void {
    this.drop();
    for (const c of this.#boot.splice(0)) c.close();
    for (const pc of this.#pcs) pc.close();
    this.#pcs = [];
  }

  async #openChannels(ms: number): Promise<boolean> {
    const [pa, pb] = this.#pcs;
    if (!pa || !pb) return false;
    const id = this.#nextId;
    this.#nextId += 2;
    const ca = pa.createDataChannel(`files-${id}`, { negotiated: true, id });
    const cb = pb.createDataChannel(`files-${id}`, { negotiated: true, id });
    this.#channels.push(ca, cb);
    this.a.use(ca);
    this.b.use(cb);
    const [oa, ob] = await Promise.all([waitOpen(ca, ms), waitOpen(cb, ms)]);
    return oa && ob;
  }
}
