/** Remembers the last N sent RTP packets by sequence number, to answer NACKs (RFC 4585). */
export class RetransmitBuffer {
  readonly #slots: Array<Buffer | undefined>;
  readonly #size: number;

  constructor(size = 512) {
    this.#size = size;
    this.#slots = new Array<Buffer | undefined>(size);
  }

  store(packet: Buffer): void {
    if (packet.length < 12) return;
    this.#slots[packet.readUInt16BE(2) % this.#size] = packet;
  }

  /** The stored packet with this sequence number, if it is still in the buffer. */
  get(seq: number): Buffer | undefined {
    const p = this.#slots[seq % this.#size];
    return p && p.readUInt16BE(2) === seq ? p : undefined;
  }

  clear(): void {
    this.#slots.fill(undefined);
  }
}
