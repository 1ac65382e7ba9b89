/** H.264 RTP (RFC 6184) helpers: key-frame detection for choosing a join point. */

/** True when the RTP payload starts (or contains, for STAP-A) an IDR slice or an SPS. */
export function isH264KeyFrameStart(payload: Uint8Array): boolean {
  if (payload.length < 2) return false;
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 28) {
    // FU-A: start bit and the fragmented NAL's type
    const fu = payload[1]!;
    return (fu & 0x80) !== 0 && ((fu & 0x1f) === 5 || (fu & 0x1f) === 7);
  }
  if (type === 24) {
    // STAP-A: walk the aggregated NAL units
    let o = 1;
    while (o + 2 < payload.length) {
      const size = (payload[o]! << 8) | payload[o + 1]!;
      const nal = payload[o + 2]! & 0x1f;
      if (nal === 5 || nal === 7) return true;
      o += 2 + size;
    }
  }
  return false;
}
