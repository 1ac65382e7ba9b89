import { ParleyError } from '@parley-rtc/protocol';
import type { GrantName } from '../auth/grants.ts';
import type { Logger } from '../util/logger.ts';
import type { LiveRoom, Member, RoomRegistry } from './RoomRegistry.ts';
import type { FeatureEventContext, ParleySocket } from './types.ts';

/**
 * The sender of a client event: one socket, and the member (session) it carries once it joined.
 * Handlers ask it who they act for; it throws NOT_IN_ROOM / FORBIDDEN when that does not hold.
 */
export class Caller {
  readonly log: Logger;

  constructor(
    readonly socket: ParleySocket,
    private readonly registry: RoomRegistry,
    rootLog: Logger,
  ) {
    this.log = rootLog.child({ socketId: socket.id });
  }

  /** The member id this socket carries, if it joined (and did not leave). */
  get memberId(): string | undefined {
    return this.socket.data.memberId;
  }

  set memberId(id: string | undefined) {
    this.socket.data.memberId = id;
  }

  /** Fields for log lines about this caller's events. */
  readonly logContext = (): Record<string, unknown> => {
    const id = this.memberId;
    return { memberId: id, room: id === undefined ? undefined : this.registry.roomOf(id)?.name };
  };

  /** The caller's room and member id; NOT_IN_ROOM unless it joined one. */
  currentRoom(): { room: LiveRoom; id: string } {
    const id = this.memberId;
    const room = id === undefined ? undefined : this.registry.roomOf(id);
    if (!room || id === undefined) throw new ParleyError('NOT_IN_ROOM');
    return { room, id };
  }

  /** The caller as a member of its room; FORBIDDEN when its token lacks `grant`. */
  self(grant?: GrantName): { room: LiveRoom; me: Member; from: { id: string; name: string } } {
    const { room, id } = this.currentRoom();
    const me = room.members.get(id)!;
    if (grant && me.grants[grant] === false) throw new ParleyError('FORBIDDEN', `the token does not grant ${grant}`);
    return { room, me, from: { id: me.id, name: me.name } };
  }

  /** What a feature's event handler learns about the sender. */
  member(): FeatureEventContext {
    const { room, me } = this.self();
    return { memberId: me.id, room: room.name, grants: me.grants };
  }
}
