/**
 * The decision logic of the W3C "perfect negotiation" pattern, kept pure so it can be tested
 * without a browser. See https://w3c.github.io/webrtc-pc/#perfect-negotiation-example.
 */

/**
 * Exactly one side of each pair is polite: the peer with the larger id. Both sides compute the
 * same answer from the two ids alone, with no extra round trip.
 */
export function isPolite(selfId: string, remoteId: string): boolean {
  if (selfId === remoteId) throw new Error('a peer cannot negotiate with itself');
  return selfId > remoteId;
}

/** @internal */
export interface NegotiationState {
  /** We are between starting setLocalDescription(offer) and sending it. */
  makingOffer: boolean;
  signalingState: RTCSignalingState;
  /** We are applying a remote answer right now (signalingState may still read have-local-offer). */
  settingRemoteAnswerPending: boolean;
}

/**
 * An incoming offer collides with our own when we are not in a state to accept one.
 * @internal
 */
export function isOfferCollision(type: RTCSdpType, state: NegotiationState): boolean {
  if (type !== 'offer') return false;
  const readyForOffer = !state.makingOffer && (state.signalingState === 'stable' || state.settingRemoteAnswerPending);
  return !readyForOffer;
}

/**
 * What to do with an incoming description:
 * - `ignore`: we are impolite and it collides with our own offer; ours wins.
 * - `rollback-and-apply`: we are polite and it collides; setRemoteDescription rolls ours back.
 * - `apply`: no collision.
 * @internal
 */
export function decideOnDescription(type: RTCSdpType, polite: boolean, state: NegotiationState): 'ignore' | 'rollback-and-apply' | 'apply' {
  if (!isOfferCollision(type, state)) return 'apply';
  return polite ? 'rollback-and-apply' : 'ignore';
}
