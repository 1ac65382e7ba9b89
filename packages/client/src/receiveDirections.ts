/**
 * A member without the `subscribe` grant may not receive media: the server refuses its mesh
 * offers and answers that would (docs/security.md). Before each local description, a PeerLink of
 * such a member turns every transceiver send-only (when it carries a track) or inactive, so its
 * SDPs pass and the other side sends it nothing; when the grant comes back, they receive again.
 */

const RESTRICTED: Record<RTCRtpTransceiverDirection, RTCRtpTransceiverDirection> = {
  sendrecv: 'sendonly',
  recvonly: 'inactive',
  sendonly: 'sendonly',
  inactive: 'inactive',
  stopped: 'stopped',
};
const RESTORED: Record<RTCRtpTransceiverDirection, RTCRtpTransceiverDirection> = {
  sendrecv: 'sendrecv',
  recvonly: 'recvonly',
  sendonly: 'sendrecv',
  inactive: 'recvonly',
  stopped: 'stopped',
};

/**
 * Sets the direction of every transceiver of `pc` for `receive` (the SDK itself only ever uses
 * sendrecv and recvonly, so this is reversible). True when a direction changed (the connection
 * then needs negotiating).
 */
export function setReceiveDirections(pc: RTCPeerConnection, receive: boolean): boolean {
  let changed = false;
  for (const t of pc.getTransceivers()) {
    if (t.currentDirection === 'stopped' || t.direction === 'stopped') continue;
    const want = (receive ? RESTORED : RESTRICTED)[t.direction];
    if (want === t.direction) continue;
    t.direction = want;
    changed = true;
  }
  return changed;
}
