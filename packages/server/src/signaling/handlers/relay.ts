/** Targeted relay of `offer` / `answer` / `candidate` from one member to another in its room. */
import { CLIENT_EVENT_SCHEMAS, ParleyError } from '@parley-rtc/protocol';
import { checkMeshSdp } from '../../auth/meshSdpPolicy.ts';
import type { Caller } from '../Caller.ts';
import type { ClientEvents } from '../ClientEvents.ts';
import { memberRoom, type SignalingHub } from '../types.ts';

export function registerRelayHandlers(events: ClientEvents, hub: SignalingHub): void {
  /** Each caller's relays in arrival order, even when one waits for a cluster lookup. */
  const chains = new WeakMap<Caller, Promise<unknown>>();
  const inOrder = <T>(caller: Caller, fn: () => Promise<T>): Promise<T> => {
    const run = (chains.get(caller) ?? Promise.resolve()).then(fn, fn);
    chains.set(
      caller,
      run.catch(() => undefined),
    );
    return run;
  };

  /**
   * Checks the relay and names its target; an SDP must respect the sender's grants (meshSdpPolicy).
   * In cluster mode a target this node does not mirror yet (it joined a moment ago on another
   * node) is looked up in the room's shared membership.
   */
  const relay = async (caller: Caller, kind: 'offer' | 'answer' | 'candidate', to: string, sdp?: string) => {
    const { room, me } = caller.self();
    if (sdp !== undefined && kind !== 'candidate') checkMeshSdp(me.grants, kind, sdp);
    const known = room.members.has(to) || (hub.shared !== undefined && (await hub.shared.isMember(room.name, to)));
    if (to === me.id || !known) {
      throw new ParleyError('PEER_NOT_FOUND', `peer ${to} is not in room ${room.name}`);
    }
    caller.log.debug({ room: room.name, to, kind }, 'relay');
    return { target: hub.io.to(memberRoom(to)), from: me.id };
  };

  events.on('offer', CLIENT_EVENT_SCHEMAS.offer, (caller, req) =>
    inOrder(caller, async () => {
      const { target, from } = await relay(caller, 'offer', req.to, req.description.sdp ?? '');
      target.emit('offer', { from, description: req.description });
      return null;
    }),
  );
  events.on('answer', CLIENT_EVENT_SCHEMAS.answer, (caller, req) =>
    inOrder(caller, async () => {
      const { target, from } = await relay(caller, 'answer', req.to, req.description.sdp ?? '');
      target.emit('answer', { from, description: req.description });
      return null;
    }),
  );
  events.on('candidate', CLIENT_EVENT_SCHEMAS.candidate, (caller, req) =>
    inOrder(caller, async () => {
      const { target, from } = await relay(caller, 'candidate', req.to);
      target.emit('candidate', { from, candidate: req.candidate });
      return null;
    }),
  );
}
