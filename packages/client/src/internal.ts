/**
 * `@parley-rtc/client/internal`: the SDK's building blocks that @parley-rtc/bots shares (the
 * signaling client, the mesh negotiation roles, the peer data channel). Not part of the public
 * API: no semver promise, may change in any release. Apps use `Room` from `@parley-rtc/client`.
 */
export { SignalClient } from './SignalClient.ts';
export type { SignalClientEvents, SignalClientOptions } from './SignalClient.ts';
export type { SignalSender } from './PeerLink.ts';
export { isPolite } from './negotiation.ts';
export { PEER_CHANNEL_ID, PEER_CHANNEL_LABEL } from './peerMessages.ts';
