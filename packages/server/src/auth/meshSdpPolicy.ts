/**
 * The grants a mesh offer or answer must respect, checked by the relay before it forwards one.
 *
 * `publish`: a sending audio m-line needs `audio`. A browser marks a screen share only by the
 * MediaStream id it rides in, which the SDK tells the other peer over the data channel; in the SDP
 * a screen share is one more sending video m-line, indistinguishable from a camera. So in a mesh
 * room the server counts: the SDP may send at most as many video tracks as the member has video
 * sources granted (`video` and `screen`, one each). With `publish: ['audio']` any sending video is
 * refused; with `['audio', 'video']` a second video (camera plus screen) is refused, naming screen;
 * with `['screen']` one video is allowed, which the server cannot prove is the screen.
 *
 * `subscribe: false`: the member's own SDP must not receive (no live audio/video m-line that is
 * sendrecv or recvonly; sendonly and inactive are fine). WebRTC sends on an m-line only when the
 * receiving side's description accepts it, and the other peer only ever sees this member's
 * descriptions through the relay, so no media can reach it in a mesh room.
 */
import { ParleyError } from '@parley-rtc/protocol';
import { canPublish, type Grants, type PublishSource } from './grants.ts';
import { sdpMediaLines } from './sdpMedia.ts';

/** Throws FORBIDDEN when `sdp` (an offer or answer of the member holding `grants`) exceeds them. */
export function checkMeshSdp(grants: Grants, what: 'offer' | 'answer', sdp: string): void {
  if (grants.publish === true && grants.subscribe) return;
  const lines = sdpMediaLines(sdp);
  if (grants.publish !== true) {
    const missing = missingSources(
      grants,
      lines.filter((l) => l.sends && l.kind === 'audio').length,
      lines.filter((l) => l.sends && l.kind === 'video').length,
    );
    if (missing.length > 0) {
      throw new ParleyError('FORBIDDEN', `the token does not grant publishing ${missing.join(' or ')} (the ${what} sends it)`);
    }
  }
  if (!grants.subscribe) {
    const received = [...new Set(lines.filter((l) => l.receives).map((l) => l.kind))];
    if (received.length > 0) {
      throw new ParleyError('FORBIDDEN', `the token does not grant subscribe (the ${what} receives ${received.join(' and ')})`);
    }
  }
}

function missingSources(grants: Grants, audio: number, video: number): PublishSource[] {
  const missing: PublishSource[] = [];
  if (audio > 0 && !canPublish(grants, 'audio')) missing.push('audio');
  const camera = canPublish(grants, 'video');
  const screen = canPublish(grants, 'screen');
  if (video > Number(camera) + Number(screen)) {
    if (!camera) missing.push('video');
    if (!screen && (camera || video > 1)) missing.push('screen');
  }
  return missing;
}
