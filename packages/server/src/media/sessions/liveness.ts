import type { MediaPeer } from '@parley-rtc/rtc/MediaPeer';

/** A peer that has not connected by then is given up. */
export const CONNECT_TIMEOUT_MS = 30_000;
/** A connected peer that stays disconnected this long is given up. */
export const DISCONNECT_GRACE_MS = 10_000;

/**
 * Ends a server-side session whose peer never connects, or stays disconnected past a grace
 * period, and when the peer closes. Returns the function that clears its timers (call it from
 * the session's close()).
 */
export function watchLiveness(peer: MediaPeer, close: (reason: string) => void, onConnected: () => void = () => {}): () => void {
  const connectTimer = setTimeout(() => close('not connected in time'), CONNECT_TIMEOUT_MS);
  let graceTimer: NodeJS.Timeout | undefined;
  peer.on('state', (s) => {
    if (s === 'connected') {
      clearTimeout(connectTimer);
      clearTimeout(graceTimer);
      graceTimer = undefined;
      onConnected();
    } else if (s === 'disconnected') {
      clearTimeout(graceTimer);
      graceTimer = setTimeout(() => close('disconnected'), DISCONNECT_GRACE_MS);
    }
  });
  peer.on('close', () => close('peer closed'));
  return () => {
    clearTimeout(connectTimer);
    clearTimeout(graceTimer);
  };
}
