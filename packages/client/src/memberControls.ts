/**
 * What the server asks of this member outside the call's own flow: a `mute_request` (an admin or
 * the server API wants a kind of media off) and `grants_changed` (the server API changed what the
 * member may do). By default a mute request is applied to the Room's LocalMedia (microphone or
 * camera muted, screen share stopped), whose state change then goes out as `media_state` as
 * usual. On a grant change the mesh links follow the new `publish` and `subscribe` grants
 * (PeerConnectionManager.applyGrants) and the recording control its `record` grant. The app hears of both through the Room's `muteRequested`
 * and `grantsChanged` events.
 */
import type { MemberGrants, MuteNotice } from '@parley-rtc/protocol';
import type { LocalMedia } from './LocalMedia.ts';
import type { SignalClient } from './SignalClient.ts';
import type { RecordingControl } from './recordingControl.ts';
export { RecordingControl } from './recordingControl.ts';

export interface MemberControlsOptions {
  /** The Room's LocalMedia, if any: where a mute request is applied. */
  media: LocalMedia | undefined;
  /** False when the app applies mute requests itself (RoomOptions.applyMuteRequests). */
  apply: boolean;
  /** The member's grants changed: the mesh links follow `publish` and `subscribe`. */
  applyGrants: (grants: MemberGrants) => void;
  muteRequested: (request: MuteNotice) => void;
  grantsChanged: (grants: MemberGrants) => void;
  /** The room's recording indicator: kept in `control`, then `changed` (the Room's `recording` event). */
  recording?: { control: RecordingControl; changed: (state: RecordingControl['state']) => void };
}

/** Stops sending `kind` on `media`: mutes the microphone or camera, or ends the screen share. */
export function applyMuteRequest(media: LocalMedia, kind: MuteNotice['kind']): void {
  if (kind === 'screen') media.stopScreenShare();
  else media.setEnabled(kind, false);
}

/** Listens for the server's member controls on `signal` (listeners go when the signal closes). */
export function bindMemberControls(signal: SignalClient, options: MemberControlsOptions): void {
  signal.on('muteRequested', (request) => {
    if (options.apply && options.media) applyMuteRequest(options.media, request.kind);
    options.muteRequested(request);
  });
  signal.on('grantsChanged', ({ grants }) => {
    options.applyGrants(grants);
    options.recording?.control.applyGrants(grants);
    options.grantsChanged(grants);
  });
  signal.on('recordingState', (state) => options.recording?.changed(options.recording.control.update(state)));
}

/** The grants of a join result (absent from old servers: publish and subscribe) go to the mesh links and the recording control. */
export function applyJoinGrants(
  grants: MemberGrants | undefined,
  to: { pcs: { applyGrants(grants: Pick<MemberGrants, 'publish' | 'subscribe'>): void }; recording: RecordingControl },
): void {
  to.pcs.applyGrants(grants ?? { publish: true, subscribe: true });
  to.recording.applyGrants(grants);
}
