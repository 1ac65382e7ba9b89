/** Targeted relay of `offer` / `answer` / `candidate` from one member to another in its room. */
import { CLIENT_EVENT_SCHEMAS, ParleyError } from '@parley-rtc/protocol';
import { checkMeshSdp } from '../../auth/meshSdpPolicy.ts';
import type { Caller } from '../Caller.ts';
import type { ClientEvents } from '../ClientEvents.ts';
import { memberRoom, type SignalingHub } from '../types.ts';

export function registerRelayHandlers(events: ClientEvents, hub: SignalingHub): void {
  /** Checks the relay and names its target; an SDP must respect the sender's grants (meshSdpPolicy). */
  const relay = (caller: Caller, kind: 'offer' | 'answer' | 'candidate', to: string, sdp?: string) => {
    const { room, me } = caller.self();
    if (sdp !== undefined && kind !== 'candidate') checkMeshSdp(me.grants, kind, sdp);
    if (to === me.id || !room.members.has(to)) {
      throw new ParleyError('PEER_NOT_FOUND', `peer ${to} is not in room ${room.name}`);
    }
    caller.log.debug({ room: room.name, to, kind }, 'relay');
    return { target: hub.io.to(memberRoom(to)), from: me.id };
  };

  events.on('offer', CLIENT_EVENT_SCHEMAS.offer, (caller, req) => {
    const { target, from } = relay(caller, 'offer', req.to, req.description.sdp ?? '');
    target.emit('offer', { from, description: req.description });
    return null;
  });
  events.on('answer', CLIENT_EVENT_SCHEMAS.answer, (caller, req) => {
    const { target, from } = relay(caller, 'answer', req.to, req.description.sdp ?? '');
    target.emit('answer', { from, description: req.description });
    return null;
  });
  events.on('candidate', CLIENT_EVENT_SCHEMAS.candidate, (caller, req) => {
    const { target, from } = relay(caller, 'candidate', req.to);
    target.emit('candidate', { from, candidate: req.candidate });
    return null;
  });
}
