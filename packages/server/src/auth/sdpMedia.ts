/**
 * What an SDP would send and receive: every audio/video m-section whose port is not 0, with its
 * direction (the default is sendrecv, or the session-level direction). Used to enforce the
 * `publish` and `subscribe` grants on mesh offers and answers (meshSdpPolicy.ts). Reads the SDP
 * with the shared parser of the rtc package (without requiring ICE/DTLS lines); an SDP it cannot
 * read is refused (ParleyError BAD_SDP / PAYLOAD_TOO_LARGE) rather than guessed at.
 */
import { parseSdp } from '@parley-rtc/rtc/sdp';

export interface SdpMediaLine {
  kind: 'audio' | 'video';
  sends: boolean;
  receives: boolean;
}

/** The live (port ≠ 0) audio and video m-sections, in order. */
export function sdpMediaLines(sdp: string): SdpMediaLine[] {
  const lines: SdpMediaLine[] = [];
  for (const m of parseSdp(sdp, { requireTransport: false }).media) {
    if (m.kind === 'application' || m.port === 0) continue;
    const sends = m.direction === 'sendrecv' || m.direction === 'sendonly';
    const receives = m.direction === 'sendrecv' || m.direction === 'recvonly';
    lines.push({ kind: m.kind, sends, receives });
  }
  return lines;
}

/** The media kinds an SDP would send. */
export function sentMediaKinds(sdp: string): Set<'audio' | 'video'> {
  return new Set(
    sdpMediaLines(sdp)
      .filter((l) => l.sends)
      .map((l) => l.kind),
  );
}
