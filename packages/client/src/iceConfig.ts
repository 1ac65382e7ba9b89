/**
 * Gives a live RTCPeerConnection new ICE servers (e.g. fresh TURN credentials) for its next ICE
 * gathering: an ICE restart uses them, the current candidate pairs stay. Implementations without
 * `setConfiguration` (some Node polyfills) keep their servers; a rejected configuration is ignored
 * for the same reason: the connection keeps working with what it has.
 * @internal
 */
export function applyIceServers(pc: RTCPeerConnection, iceServers: RTCIceServer[]): boolean {
  if (typeof pc.setConfiguration !== 'function') return false;
  try {
    const current = typeof pc.getConfiguration === 'function' ? pc.getConfiguration() : {};
    pc.setConfiguration({ ...current, iceServers });
    return true;
  } catch {
    return false;
  }
}
