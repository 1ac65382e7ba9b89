/**
 * RTP header extensions (RFC 8285): finds one element by its negotiated id in the one-byte
 * (profile 0xBEDE) or two-byte (0x100x) form, without allocating. Untrusted input: every length
 * is checked against the packet, and a malformed block yields "not found".
 */

/** Offset and length of extension element `id` in `pkt`, or undefined if absent or malformed. */
export function findExtension(pkt: Buffer, id: number): { offset: number; length: number } | undefined {
  const b0 = pkt[0]!;
  if (!(b0 & 0x10)) return undefined;
  const start = 12 + (b0 & 0x0f) * 4;
  if (pkt.length < start + 4) return undefined;
  const profile = pkt.readUInt16BE(start);
  const end = start + 4 + pkt.readUInt16BE(start + 2) * 4;
  if (end > pkt.length) return undefined;
  let i = start + 4;
  if (profile === 0xbede) {
    while (i < end) {
      const b = pkt[i]!;
      if (b === 0) {
        i++; // padding
        continue;
      }
      const elementId = b >> 4;
      if (elementId === 15) return undefined; // stop: the rest is not to be read
      const length = (b & 0x0f) + 1;
      if (i + 1 + length > end) return undefined;
      if (elementId === id) return { offset: i + 1, length };
      i += 1 + length;
    }
    return undefined;
  }
  if ((profile & 0xfff0) === 0x1000) {
    while (i < end) {
      const elementId = pkt[i]!;
      if (elementId === 0) {
        i++;
        continue;
      }
      if (i + 2 > end) return undefined;
      const length = pkt[i + 1]!;
      if (i + 2 + length > end) return undefined;
      if (elementId === id) return { offset: i + 2, length };
      i += 2 + length;
    }
  }
  return undefined;
}

/**
 * The audio level (RFC 6464) in `pkt`: `level` in -dBov (0 = loudest, 127 = silence) and the
 * voice-activity flag, or undefined when the packet does not carry it.
 */
export function readAudioLevel(pkt: Buffer, id: number): { level: number; voice: boolean } | undefined {
  const el = findExtension(pkt, id);
  if (!el || el.length < 1) return undefined;
  const b = pkt[el.offset]!;
  return { level: b & 0x7f, voice: (b & 0x80) !== 0 };
}

/** A one-byte-form extension (profile + padded data) for `writeRtp` (tests and test senders). */
export function oneByteExtension(elements: ReadonlyArray<{ id: number; data: Buffer }>): { profile: number; data: Buffer } {
  const body = Buffer.concat(elements.map((e) => Buffer.concat([Buffer.from([(e.id << 4) | (e.data.length - 1)]), e.data])));
  const data = Buffer.alloc(Math.ceil(body.length / 4) * 4);
  body.copy(data);
  return { profile: 0xbede, data };
}
