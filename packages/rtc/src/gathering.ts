import type { PeerConnection } from 'node-datachannel';

/**
 * Resolves once a native peer connection has gathered its ICE candidates, or after `timeoutMs`
 * (then the description goes out with the candidates gathered so far), or when `stop()` says so.
 * Polls (every millisecond: host candidates gather in well under one, and every poll tick is
 * added to the answer's latency): onGatheringStateChange has one callback slot per connection,
 * which this must not take from its owner.
 */
export function waitGathered(pc: PeerConnection, timeoutMs: number, stop: () => boolean = () => false): Promise<void> {
  if (pc.gatheringState() === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve();
    };
    const timer = setTimeout(finish, timeoutMs);
    const poll = setInterval(() => {
      if (stop() || pc.gatheringState() === 'complete') finish();
    }, 1);
  });
}

/** Drops candidate lines (and end-of-candidates) from an SDP, keeping everything else. */
export function withoutCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
    .join('\r\n');
}
