import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { ParleyError, type ClientEventName, type LogEntry, type ServerToClientEvents, type SessionEndReason } from '@parley-rtc/protocol';
import type { NewEntry } from '../roomlog/LogStore.ts';
import { Caller } from './Caller.ts';
import { ClientEvents, type AckData } from './ClientEvents.ts';
import { registerMediaStateHandlers } from './handlers/mediaState.ts';
import { registerMembershipHandlers, watchDisconnect } from './handlers/membership.ts';
import { registerRelayHandlers } from './handlers/relay.ts';
import { registerRoomControlHandlers } from './handlers/roomControl.ts';
import { registerRoomLogHandlers } from './handlers/roomLog.ts';
import { admitShared } from './handlers/sharedSeats.ts';
import { RoomRegistry, type Member } from './RoomRegistry.ts';
import type { SeatRemoval } from './SharedMembership.ts';
import type { Grants } from '../auth/grants.ts';
import {
  memberRoom,
  type FeatureEventContext,
  type MemberInfo,
  type MembershipChange,
  type MembershipListener,
  type MediaKind,
  type ParleyIo,
  type SignalingHub,
  type SignalingOptions,
} from './types.ts';

export type { FeatureEventContext, MediaKind, MemberInfo, MembershipListener, ParleyIo, SignalingOptions, SocketData } from './types.ts';

/**
 * Socket.IO signaling: rooms and presence, targeted relay of offer/answer/candidate, the room
 * log's live side (chat_message, room_event, history), room controls and media flags. Each domain
 * registers its client events on one dispatcher (`handlers/*.ts`); features add theirs with
 * `registerClientEvent()` and follow room membership with `onMembership()`.
 */
export class Signaling {
  readonly registry: RoomRegistry;
  readonly #events: ClientEvents;
  readonly #hub: SignalingHub;
  #admitting = true;
  readonly #membership = new Set<MembershipListener>();
  readonly #entries = new Set<(room: string, entry: LogEntry) => void>();

  constructor(
    private readonly io: ParleyIo,
    private readonly options: SignalingOptions,
  ) {
    const registry = (this.registry = options.registry ?? new RoomRegistry(options.limits));
    this.#events = new ClientEvents({ metrics: options.metrics, eventRate: options.eventRate });
    this.#hub = {
      io,
      registry,
      options,
      shared: options.shared,
      isAdmitting: () => this.#admitting,
      publish: (room, entry) => this.publish(room, entry),
      removeMember: (memberId, anyEpoch) => this.#removeMember(memberId, anyEpoch),
      endSession: (memberId, reason, message) => this.endSession(memberId, reason, message),
      requestMute: (memberId, kind, by) => this.requestMute(memberId, kind, by),
      mediaChanged: (memberId, room, flags) => this.#each('mediaChanged', (l) => l.mediaChanged?.(memberId, room, flags), room),
      notify: (kind, member, room, members) => this.#notify(kind, member, room, members),
    };
    options.shared?.onRemoved((room, member, how) => this.#seatRemoved(room, member, how));
    registerMembershipHandlers(this.#events, this.#hub);
    registerRelayHandlers(this.#events, this.#hub);
    registerRoomLogHandlers(this.#events, this.#hub);
    registerRoomControlHandlers(this.#events, this.#hub);
    registerMediaStateHandlers(this.#events, this.#hub);
    io.on('connection', (socket) => {
      const caller = new Caller(socket, registry, options.log);
      this.#events.attach(caller);
      watchDisconnect(this.#hub, caller);
    });
    options.metrics.gauge('parley_rooms', 'Rooms this node knows (in cluster mode: every live room of the cluster).', () => [
      { labels: {}, value: registry.size },
    ]);
    options.metrics.gauge('parley_peers', 'Peers joined to a room on this node.', () => [{ labels: {}, value: registry.memberCount }]);
  }

  /** Releases timers (rate limits, resume grace). Sockets are closed by the Socket.IO server. */
  close(): void {
    this.#events.close();
    for (const room of this.registry.rooms()) for (const m of room.members.values()) clearTimeout(m.graceTimer);
  }

  /** Stops admitting joins; existing sessions keep working until they are disconnected. */
  stopAdmitting(): void {
    this.#admitting = false;
  }

  /**
   * Ends every session in a room (e.g. the room was deleted): each member is told, removed (also
   * those waiting to resume) and disconnected, and the room is forgotten even when managed.
   */
  endRoom(room: string, message: string): void {
    const live = this.registry.room(room);
    for (const id of [...(live?.members.keys() ?? [])]) this.endSession(id, 'room-closed', message);
    this.io.to(room).emit('session_ended', { reason: 'room-closed', message });
    this.io.in(room).disconnectSockets(true);
    this.registry.drop(room);
  }

  /**
   * Ends one member's session (kick, room deleted): it gets `session_ended`, leaves the room at
   * once (its resume key and session credential stop working; the others see `peer_left`), and its
   * sockets are closed. False when no such member is in a room.
   */
  endSession(memberId: string, reason: SessionEndReason, message: string): boolean {
    if (!this.registry.roomOf(memberId)) return false;
    const forMs = Math.max(this.options.limits.resumeGraceMs, 1000);
    this.registry.markEnded(memberId, reason, forMs);
    this.options.shared?.markEnded(memberId, reason, forMs);
    this.io.to(memberRoom(memberId)).emit('session_ended', { reason, message });
    this.#removeMember(memberId, true);
    this.io.in(memberRoom(memberId)).disconnectSockets(true);
    return true;
  }

  /**
   * Asks a member to stop sending a kind of media (`mute_request`, `by` an admin's member id or
   * `server`), and tells the mute listeners (the SFU stops forwarding it). False for an unknown member.
   */
  requestMute(memberId: string, kind: MediaKind, by: string): boolean {
    const room = this.registry.roomOf(memberId);
    if (!room) return false;
    this.io.to(memberRoom(memberId)).emit('mute_request', { kind, by });
    this.#each('muteRequested', (l) => l.muteRequested?.(memberId, room.name, kind), room.name);
    return true;
  }

  /** Tells the features that a room's settings changed (server API). */
  roomSettingsChanged(room: string): void {
    this.#each('roomSettingsChanged', (l) => l.roomSettingsChanged?.(room), room);
  }

  /**
   * Replaces a connected member's grants (server API). Signaling checks read them on every event;
   * the member is told (`grants_changed`) and the features too, so they can drop what is no longer
   * allowed. False for an unknown member.
   */
  updateGrants(memberId: string, grants: Grants): boolean {
    const room = this.registry.roomOf(memberId);
    const member = room?.members.get(memberId);
    if (!room || !member) return false;
    member.grants = grants;
    member.grantsFromApi = true;
    this.options.shared?.save(room.name, member);
    this.options.log.info({ room: room.name, memberId, grants }, 'member grants changed');
    this.io.to(memberRoom(memberId)).emit('grants_changed', { grants });
    this.#each('grantsChanged', (l) => l.grantsChanged?.(memberId, room.name, grants), room.name);
    return true;
  }

  /**
   * Lets a feature handle a client event of the protocol. The handler runs for members of a room
   * only (NOT_IN_ROOM otherwise), after `schema` parsed the payload (INVALID_PAYLOAD otherwise);
   * what it returns is the ack's data, what it throws the ack's error, as for the core events.
   * A protocol event no feature handles answers UNSUPPORTED. One handler per event (else TypeError).
   */
  registerClientEvent<E extends ClientEventName, S extends z.ZodType>(
    event: E,
    schema: S,
    handler: (ctx: FeatureEventContext, req: z.infer<S>) => AckData<E> | Promise<AckData<E>>,
  ): void {
    this.#events.on(event, schema, (caller, req) => handler(caller.member(), req));
  }

  /**
   * Seats a member that no socket carries (a WHIP publisher, media/rooms): the room sees it join
   * like any member (`peer_joined`, the features' membership listeners, the participant list);
   * `removeServerMember` (or the server API's kick) removes it with `peer_left`. Throws as `join`
   * does (ROOM_FULL, ROOM_LOCKED, BAD_PASSWORD for a room with a password, SHUTTING_DOWN).
   */
  async addServerMember(room: string, member: MemberInfo & { grants: Grants }): Promise<void> {
    if (!this.#admitting) throw new ParleyError('SHUTTING_DOWN');
    const secret = () => randomBytes(18).toString('base64url');
    const auth = {
      identity: member.identity,
      grants: member.grants,
      expiresAt: undefined,
      resumeKey: secret(),
      sessionKey: secret(),
      socketId: `server:${member.id}`,
    };
    const { shared } = this.options;
    // Cluster mode: a seat in Redis like a join's, so every node knows the member (and hears it leave).
    const live = shared
      ? await admitShared(this.#hub, shared, { room }, { id: member.id, name: member.name, ...auth, joinedAt: Date.now() })
      : this.registry.add(room, { id: member.id, name: member.name }, auth);
    try {
      await this.options.store.noteParticipant(room, member.id, member.name);
    } catch (err) {
      this.#removeMember(member.id);
      throw err;
    }
    const info = { id: member.id, name: member.name, identity: member.identity };
    this.#notify('joined', info, room, live.members.size);
    this.io.to(room).emit('peer_joined', { id: member.id, name: member.name });
    this.options.log.info({ room, memberId: member.id, name: member.name }, 'server-side member joined');
  }

  /** Removes a member seated by `addServerMember` (the room hears `peer_left`). False when it is gone. */
  removeServerMember(memberId: string): boolean {
    return this.#removeMember(memberId);
  }

  /** Calls `listener` on room joins and leaves; returns `off`. A throwing listener is logged. */
  onMembership(listener: MembershipListener): () => void {
    this.#membership.add(listener);
    return () => this.#membership.delete(listener);
  }

  /** Calls `listener` after each entry is stored and delivered (webhooks); returns `off`. */
  onEntry(listener: (room: string, entry: LogEntry) => void): () => void {
    this.#entries.add(listener);
    return () => this.#entries.delete(listener);
  }

  /** Sends a server event to a room (by name) or one member (by member id, which starts with '_'). */
  emitTo<E extends keyof ServerToClientEvents>(target: string, event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    this.io.to(target.startsWith('_') ? memberRoom(target) : target).emit(event, ...args);
  }

  /**
   * Appends an entry to a room's log and delivers it live to the room, once per member. An event
   * body over `limits.maxEventBytes` is refused with PAYLOAD_TOO_LARGE, whoever sends it.
   */
  async publish(room: string, entry: NewEntry): Promise<LogEntry> {
    if (entry.kind === 'event') {
      const bytes = Buffer.byteLength(JSON.stringify(entry.body) ?? '');
      const limit = this.options.limits.maxEventBytes;
      if (bytes > limit) throw new ParleyError('PAYLOAD_TOO_LARGE', `event body is ${bytes} bytes; the limit is ${limit}`);
    }
    const stored = await this.options.store.append(room, entry);
    this.options.metrics.inc('parley_log_entries_total', 'Entries appended to room logs.', { kind: stored.kind });
    if (this.options.deliverEntry) this.options.deliverEntry(room, stored);
    else if (stored.kind === 'chat') this.io.to(room).emit('chat_message', stored);
    else this.io.to(room).emit('room_event', stored);
    for (const listener of this.#entries) {
      try {
        listener(room, stored);
      } catch (err) {
        this.options.log.error({ err, room }, 'entry listener failed');
      }
    }
    return stored;
  }

  #notify(kind: MembershipChange, member: MemberInfo, room: string, members: number): void {
    this.#each(kind, (l) => l[kind]?.(member.id, room, members, member), room);
  }

  /** Calls every membership listener; a throwing one is logged and the others still run. */
  #each(what: keyof MembershipListener, call: (listener: MembershipListener) => void, room: string): void {
    for (const l of this.#membership) {
      try {
        call(l);
      } catch (err) {
        this.options.log.error({ err, room }, `membership listener failed (${what})`);
      }
    }
  }

  /**
   * Removes a member from its room and tells the others. Returns whether it was in one. In
   * cluster mode the room hears `peer_left` once Redis removed the seat: not when the seat moved
   * to another socket since (unless `anyEpoch`), and only from the node whose removal won.
   */
  #removeMember(memberId: string, anyEpoch = false): boolean {
    const member = this.registry.roomOf(memberId)?.members.get(memberId);
    const room = this.registry.remove(memberId);
    if (!room || !member) return false;
    this.io.in(memberRoom(memberId)).socketsLeave(room.name);
    const left = () => {
      this.io.to(room.name).emit('peer_left', { id: memberId });
      // Features follow the members this node carries; another node's member is its node's to report.
      if (member.node === undefined)
        this.#notify('left', { id: member.id, name: member.name, identity: member.identity }, room.name, room.members.size);
    };
    const { shared } = this.options;
    if (!shared) {
      left();
      return true;
    }
    shared.remove(room.name, memberId, anyEpoch ? undefined : member.epoch).then(
      (removed) => removed && left(),
      (err: unknown) => this.options.log.warn({ err, memberId }, 'could not remove a seat from the cluster'),
    );
    return true;
  }

  /** Cluster mode: a seat left without this node removing it (see SeatRemoval). */
  #seatRemoved(room: string, member: Member, how: SeatRemoval): void {
    const info = { id: member.id, name: member.name, identity: member.identity };
    const members = this.registry.room(room)?.members.size ?? 0;
    if (how === 'expired') {
      this.io.to(room).emit('peer_left', { id: member.id });
      this.#notify('left', info, room, members);
    } else if (member.node === undefined) {
      // This node carried it (kicked, or its seat taken, from another node): its sockets leave too.
      this.io.local.in(memberRoom(member.id)).socketsLeave(room);
      this.#notify('left', info, room, members);
    }
  }
}
