export { MediaPeer, mediaDescription } from './MediaPeer.ts';
export type { AddTrackOptions, MediaPeerEvents, MediaPeerOptions, PeerState } from './MediaPeer.ts';
export { MediaTrack } from './MediaTrack.ts';
export type { MediaTrackEvents, MediaTrackInit, TrackDirection } from './MediaTrack.ts';
export { TypedEmitter } from './emitter.ts';
export { toLibdatachannelServers } from './iceServers.ts';
export type { LibdatachannelIceServer } from './iceServers.ts';
export { waitGathered, withoutCandidates } from './gathering.ts';
