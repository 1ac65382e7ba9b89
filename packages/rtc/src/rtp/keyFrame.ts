import { isH264KeyFrameStart } from './h264.ts';
import { rtpPayloadOffset } from './rtp.ts';
import { isVp8KeyFrameStart } from './vp8.ts';

/**
 * Whether an RTP packet of a track in `codec` may start a decodable stream: for VP8 and H.264,
 * whether it starts a key frame (CSRCs, header extension and padding skipped); a codec without
 * key frames (Opus) may start at any packet; no codec at all (`undefined`), never.
 */
export function isKeyFrameStart(codec: string | undefined, packet: Buffer): boolean {
  if (codec === undefined) return false;
  if (codec !== 'vp8' && codec !== 'h264') return true;
  if (packet.length <= 12) return false;
  const offset = rtpPayloadOffset(packet);
  const end = packet[0]! & 0x20 ? packet.length - packet[packet.length - 1]! : packet.length;
  if (offset === undefined || offset >= end) return false;
  const payload = packet.subarray(offset, end);
  return codec === 'vp8' ? isVp8KeyFrameStart(payload) : isH264KeyFrameStart(payload);
}
