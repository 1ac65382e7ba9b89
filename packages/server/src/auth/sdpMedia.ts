/**
 * The media kinds an SDP would send: every audio/video m-section whose direction is sendrecv or
 * sendonly (the default is sendrecv, or the session-level direction) and whose port is not 0. Used
 * to enforce the `publish` grant on mesh offers and answers, and on WHIP. Reads the SDP with the
 * shared parser of the rtc package (without requiring ICE/DTLS lines); an SDP it cannot read is
 * refused (ParleyError BAD_SDP / PAYLOAD_TOO_LARGE) rather than guessed at.
 */
import { parseSdp } from '@parley-rtc/rtc/sdp';

export function sentMediaKinds(sdp: string): Set<'audio' | 'video'> {
  const kinds = new Set<'audio' | 'video'>();
  for (const m of parseSdp(sdp, { requireTransport: false }).media) {
    if (m.kind === 'application' || m.port === 0) continue;
    if (m.direction === 'sendrecv' || m.direction === 'sendonly') kinds.add(m.kind);
  }
  return kinds;
}
