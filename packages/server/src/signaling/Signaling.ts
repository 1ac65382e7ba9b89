import { randomBytes } from 'node:crypto';
import { sameSecret } from '../util/sameSecret.ts';
import type { Server, Socket } from 'socket.io';
import type { z } from 'zod';
import {
  CLIENT_EVENT_SCHEMAS,
  ParleyError,
  PROTOCOL_VERSION,
  type ClientEventName,
  type IceServer,
  type JoinResult,
  type LogEntry,
  type ServerToClientEvents,
  type SfuCloseRequest,
  type SfuPauseRequest,
  type SfuVideoSizeRequest,
  type SfuPublishRequest,
  type SfuSubscribeRequest,
} from '@parley-rtc/protocol';
import type { LogStore, NewEntry } from '../roomlog/LogStore.ts';
import type { TokenService } from '../auth/TokenService.ts';
import { canPublish, type GrantName, type Grants } from '../auth/grants.ts';
import { sentMediaKinds } from '../auth/sdpMedia.ts';
import type { Metrics } from '../metrics/Metrics.ts';
import { RateLimiter } from '../ratelimit/RateLimiter.ts';
import type { Logger } from '../util/logger.ts';
import { handle } from './handler.ts';
import { RoomRegistry } from './RoomRegistry.ts';

export interface SignalingOptions {
  store: LogStore;
  log: Logger;
  tokens: TokenService;
  metrics: Metrics;
  /** Per-socket event rate. */
  eventRate: { ratePerSec: number; burst: number };
  /** ICE servers for a joining peer (may mint per-peer TURN credentials). */
  iceServers: (peerId: string) => IceServer[];
  limits: {
    maxPeersPerRoom: number;
    maxRooms: number;
    joinCatchUp: number;
    maxReplay: number;
    maxEventBytes: number;
    /** How long a peer whose socket dropped stays in its room, resumable, before it leaves. */
    resumeGraceMs: number;
  };
}

/** Who sent an event that a feature handles: a member of `room`. */
export interface FeatureEventContext {
  /** The sender's member id (its session in the room; public, the same as its peer id). */
  memberId: string;
  room: string;
  grants: Grants;
}

/** Client events implemented by features (payloads are schema-parsed before the handler runs). */
export interface FeatureEvents {
  sfu_publish: (ctx: FeatureEventContext, req: SfuPublishRequest) => unknown;
  sfu_subscribe: (ctx: FeatureEventContext, req: SfuSubscribeRequest) => unknown;
  sfu_close: (ctx: FeatureEventContext, req: SfuCloseRequest) => unknown;
  sfu_pause: (ctx: FeatureEventContext, req: SfuPauseRequest) => unknown;
  sfu_video_size: (ctx: FeatureEventContext, req: SfuVideoSizeRequest) => unknown;
}

const FEATURE_EVENTS = ['sfu_publish', 'sfu_subscribe', 'sfu_close', 'sfu_pause', 'sfu_video_size'] as const satisfies ReadonlyArray<keyof FeatureEvents>;

/** Room membership changes, for features; `peers` is the member count after the change. */
export interface MembershipListener {
  joined?(memberId: string, room: string, peers: number): void;
  left?(memberId: string, room: string, peers: number): void;
  /** The peer came back on a new socket within the resume grace (it may have missed events). */
  resumed?(memberId: string, room: string, peers: number): void;
}

/** Server events a feature may send to a room or one socket. */
export type FeatureServerEvent = 'sfu-producer' | 'sfu-producer-closed' | 'sfu-mode' | 'sfu-speakers';

/** Untyped inbound map: every payload is `unknown` until its protocol schema has parsed it. */
type InboundEvents = Record<string, (...args: unknown[]) => void>;
/** Per-socket state: the peer (session) this socket currently carries. */
export interface SocketData {
  peerId?: string | undefined;
}
export type ParleyIo = Server<InboundEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type ParleySocket = Socket<InboundEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/**
 * Peer ids name sessions, not sockets, so a session can move to a new socket on reconnect. They
 * start with '_', which no room name can, and each peer's sockets join the room `peer:<id>`.
 */
const newPeerId = () => `_${randomBytes(9).toString('base64url')}`;
const newSecret = () => randomBytes(18).toString('base64url');
const peerRoom = (peerId: string) => `peer:${peerId}`;
/** Disconnect reasons after which the peer is gone for good (no resume grace). */
const FINAL_DISCONNECTS = new Set(['client namespace disconnect', 'server namespace disconnect', 'server shutting down']);

/**
 * Socket.IO signaling: rooms, presence, targeted relay of offer/answer/candidate, and the room
 * log's live side (chat_message, room_event, history).
 */
export class Signaling {
  readonly registry: RoomRegistry;
  readonly #events: RateLimiter;
  #admitting = true;
  readonly #featureHandlers: Partial<FeatureEvents> = {};
  readonly #membership = new Set<MembershipListener>();

  constructor(
    private readonly io: ParleyIo,
    private readonly options: SignalingOptions,
  ) {
    this.registry = new RoomRegistry(options.limits);
    this.#events = new RateLimiter(options.eventRate);
    io.on('connection', (socket) => this.#attach(socket));
    options.metrics.gauge('parley_rooms', 'Rooms with at least one peer on this node.', () => [
      { labels: {}, value: this.registry.size },
    ]);
    options.metrics.gauge('parley_peers', 'Peers joined to a room on this node.', () => [
      { labels: {}, value: this.registry.peerCount },
    ]);
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

  /** Ends every session in a room (e.g. the room was deleted): `session-ended`, then disconnect. */
  endRoom(room: string, message: string): void {
    this.io.to(room).emit('session-ended', { reason: 'room-closed', message });
    this.io.in(room).disconnectSockets();
  }

  /** Lets a feature implement one of the feature events (without one, the event answers UNSUPPORTED). */
  handleFeatureEvent<E extends keyof FeatureEvents>(event: E, fn: FeatureEvents[E]): void {
    this.#featureHandlers[event] = fn;
  }

  /** Calls `listener` on room joins and leaves; returns `off`. A throwing listener is logged. */
  onMembership(listener: MembershipListener): () => void {
    this.#membership.add(listener);
    return () => this.#membership.delete(listener);
  }

  /** Sends a feature event to a room (by name) or one peer (by id). */
  emitTo<E extends FeatureServerEvent>(target: string, event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    this.io.to(target.startsWith('_') ? peerRoom(target) : target).emit(event, ...args);
  }

  #notify(kind: 'joined' | 'left' | 'resumed', memberId: string, room: string, peers: number): void {
    for (const l of this.#membership) {
      try {
        l[kind]?.(memberId, room, peers);
      } catch (err) {
        this.options.log.error({ err, room }, `membership listener failed (${kind})`);
      }
    }
  }

  /** Appends an entry to a room's log and delivers it live to the room, once per member. */
  async publish(room: string, entry: NewEntry): Promise<LogEntry> {
    const stored = await this.options.store.append(room, entry);
    this.options.metrics.inc('parley_log_entries_total', 'Entries appended to room logs.', { kind: stored.kind });
    if (stored.kind === 'chat') this.io.to(room).emit('chat_message', stored);
    else this.io.to(room).emit('room_event', stored);
    return stored;
  }

  #attach(socket: ParleySocket): void {
    const { log: rootLog, store, limits, tokens, metrics } = this.options;
    const log = rootLog.child({ socketId: socket.id });
    const myId = () => socket.data.peerId;
    const context = () => {
      const id = myId();
      return { peerId: id, room: id === undefined ? undefined : this.registry.roomOf(id)?.name };
    };
    const on = <S extends z.ZodType>(event: ClientEventName, schema: S, fn: (payload: z.infer<S>) => unknown) => {
      const listener = handle(schema, fn, log, context, (code) =>
        metrics.inc('parley_errors_total', 'Errors answered to clients, by code.', { code }),
      );
      socket.on(event, (payload: unknown, ack: unknown) => {
        metrics.inc('parley_signaling_events_total', 'Signaling events received, by event.', { event });
        void this.#events.take(socket.id).then((retryAfterMs) => {
          if (retryAfterMs === 0) return listener(payload, ack);
          metrics.inc('parley_errors_total', 'Errors answered to clients, by code.', { code: 'RATE_LIMITED' });
          if (typeof ack === 'function') {
            const error = new ParleyError('RATE_LIMITED', `too many events; retry in ${retryAfterMs} ms`, { retryAfterMs });
            (ack as (r: unknown) => void)({ ok: false, error: error.toWire() });
          }
        });
      });
    };

    const currentRoom = () => {
      const id = myId();
      const room = id === undefined ? undefined : this.registry.roomOf(id);
      if (!room || id === undefined) throw new ParleyError('NOT_IN_ROOM');
      return { room, id };
    };
    const self = (grant?: GrantName) => {
      const { room, id } = currentRoom();
      const me = room.members.get(id)!;
      if (grant && me.grants[grant] === false) throw new ParleyError('FORBIDDEN', `the token does not grant ${grant}`);
      return { room, me, from: { id: me.id, name: me.name } };
    };

    on('join', CLIENT_EVENT_SCHEMAS.join, async (req): Promise<JoinResult> => {
      if (!this.#admitting) throw new ParleyError('SHUTTING_DOWN');
      if (req.protocol !== undefined && req.protocol.split('.')[0] !== PROTOCOL_VERSION.split('.')[0]) {
        throw new ParleyError('VERSION_MISMATCH', `server speaks protocol ${PROTOCOL_VERSION}`);
      }
      const principal = await tokens.verify(req.token, req.room);
      if (!principal.grants.join) throw new ParleyError('FORBIDDEN', 'the token does not grant join');
      const current = myId();
      if (current !== undefined && this.registry.roomOf(current)) throw new ParleyError('ALREADY_IN_ROOM');

      const resumable = req.resume && this.registry.roomOf(req.resume.peer);
      const old = resumable ? resumable.members.get(req.resume!.peer) : undefined;
      const resumed = !!old && resumable!.name === req.room && sameSecret(old.resumeKey, req.resume!.key);
      let room;
      let me;
      if (resumed && resumable && old) {
        // Take the session over from its previous socket, if that one is still around.
        clearTimeout(old.graceTimer);
        old.graceTimer = undefined;
        const previous = old.socketId === undefined ? undefined : this.io.sockets.sockets.get(old.socketId);
        if (previous && previous.id !== socket.id) {
          previous.data.peerId = undefined;
          previous.disconnect(true);
        }
        old.socketId = socket.id;
        room = resumable;
        me = old;
      } else {
        const id = newPeerId();
        room = this.registry.add(
          req.room,
          { id, name: req.name },
          { identity: principal.identity, grants: principal.grants, resumeKey: newSecret(), sessionKey: newSecret(), socketId: socket.id },
          req.password,
        );
        me = room.members.get(id)!;
      }
      socket.data.peerId = me.id;
      try {
        await socket.join([room.name, peerRoom(me.id)]);
        const latest = await store.lastSeq(room.name);
        let entries: LogEntry[];
        let truncated: boolean;
        if (req.lastSeq !== undefined) {
          const from = Math.min(req.lastSeq, latest);
          entries = await store.range(room.name, { after: from, limit: limits.maxReplay });
          // Also true when retention removed entries the client has not seen.
          truncated = latest - from > limits.maxReplay || (entries[0]?.seq ?? latest + 1) > from + 1;
        } else {
          entries = limits.joinCatchUp > 0 ? await store.range(room.name, { limit: limits.joinCatchUp }) : [];
          truncated = (entries[0]?.seq ?? 1) > 1;
        }
        if (!resumed) {
          await store.noteParticipant(room.name, me.id, me.name);
          // Features first: a mode switch (mesh → SFU) reaches the room before the joiner does,
          // so nobody starts a mesh link to a peer it will reach through the SFU.
          this.#notify('joined', me.id, room.name, room.members.size);
          socket.to(room.name).emit('peer-joined', { id: me.id, name: me.name });
        } else this.#notify('resumed', me.id, room.name, room.members.size);
        // Everyone's media flags, so the joiner can show mute icons without a link to them.
        for (const m of room.members.values()) if (m.id !== me.id && m.media) socket.emit('peer-media', { id: m.id, ...m.media });
        log.info({ room: room.name, peerId: me.id, name: me.name, peers: room.members.size, resumed }, resumed ? 'peer resumed' : 'peer joined');
        return {
          self: { id: me.id, name: me.name },
          peers: room.peers(me.id),
          iceServers: this.options.iceServers(me.id),
          lastSeq: latest,
          entries,
          truncated,
          resumeKey: me.resumeKey,
          session: `${me.id}.${me.sessionKey}`,
          resumed,
        };
      } catch (err) {
        this.#removePeer(me.id);
        socket.data.peerId = undefined;
        throw err;
      }
    });

    on('leave', CLIENT_EVENT_SCHEMAS.leave, () => {
      const { room, id } = currentRoom();
      void socket.leave(room.name);
      void socket.leave(peerRoom(id));
      socket.data.peerId = undefined;
      this.#removePeer(id);
      return null;
    });

    const relay = (kind: 'offer' | 'answer' | 'candidate', to: string, sdp?: string) => {
      const { room, me } = self();
      if (sdp !== undefined && !canPublish(me.grants)) {
        const kinds = sentMediaKinds(sdp);
        if (kinds.size > 0) {
          throw new ParleyError('FORBIDDEN', `the token does not grant publish (the ${kind} sends ${[...kinds].join(' and ')})`);
        }
      }
      if (to === me.id || !room.members.has(to)) {
        throw new ParleyError('PEER_NOT_FOUND', `peer ${to} is not in room ${room.name}`);
      }
      log.debug({ room: room.name, to, kind }, 'relay');
      return { target: this.io.to(peerRoom(to)), from: me.id };
    };
    on('offer', CLIENT_EVENT_SCHEMAS.offer, (req) => {
      const { target, from } = relay('offer', req.to, req.description.sdp ?? '');
      target.emit('offer', { from, description: req.description });
      return null;
    });
    on('answer', CLIENT_EVENT_SCHEMAS.answer, (req) => {
      const { target, from } = relay('answer', req.to, req.description.sdp ?? '');
      target.emit('answer', { from, description: req.description });
      return null;
    });
    on('candidate', CLIENT_EVENT_SCHEMAS.candidate, (req) => {
      const { target, from } = relay('candidate', req.to);
      target.emit('candidate', { from, candidate: req.candidate });
      return null;
    });

    on('chat_message', CLIENT_EVENT_SCHEMAS.chat_message, async (req) => {
      const { room, from } = self('chat');
      const entry = await this.publish(room.name, { kind: 'chat', from, text: req.text });
      return { seq: entry.seq, ts: entry.ts };
    });

    on('room_event', CLIENT_EVENT_SCHEMAS.room_event, async (req) => {
      const { room, from } = self('chat');
      const bytes = Buffer.byteLength(JSON.stringify(req.body) ?? '');
      if (bytes > limits.maxEventBytes) {
        throw new ParleyError('PAYLOAD_TOO_LARGE', `event body is ${bytes} bytes; the limit is ${limits.maxEventBytes}`);
      }
      const entry = await this.publish(room.name, { kind: 'event', from, type: req.type, body: req.body });
      return { seq: entry.seq, ts: entry.ts };
    });

    on('history', CLIENT_EVENT_SCHEMAS.history, async (req) => {
      const { room } = currentRoom();
      const entries = await store.range(room.name, {
        ...(req.before !== undefined ? { before: req.before } : {}),
        limit: req.limit ?? 100,
      });
      return { entries, lastSeq: await store.lastSeq(room.name) };
    });

    on('room_control', CLIENT_EVENT_SCHEMAS.room_control, (req) => {
      const { room, me } = self('admin');
      switch (req.action) {
        case 'lock':
        case 'unlock':
          room.locked = req.action === 'lock';
          break;
        case 'set_password':
          room.setPassword(req.password);
          break;
        case 'clear_password':
          room.setPassword(undefined);
          break;
        case 'set_max_participants':
          room.maxParticipants = Math.min(req.max, limits.maxPeersPerRoom);
          break;
      }
      log.info({ room: room.name, action: req.action, by: me.id }, 'room control');
      this.io.to(room.name).emit('room-state', room.state);
      return room.state;
    });

    on('kick', CLIENT_EVENT_SCHEMAS.kick, async (req) => {
      const { room, me } = self('admin');
      if (req.peer === me.id || !room.members.has(req.peer)) {
        throw new ParleyError('PEER_NOT_FOUND', `peer ${req.peer} is not in room ${room.name}`);
      }
      this.io.to(peerRoom(req.peer)).emit('session-ended', { reason: 'kicked', message: req.reason ?? `removed by ${me.name}` });
      log.info({ room: room.name, target: req.peer, by: me.id }, 'peer kicked');
      // Removed first, so the kicked peer cannot resume; then its sockets are closed.
      this.#removePeer(req.peer);
      this.io.in(peerRoom(req.peer)).disconnectSockets(true);
      return null;
    });

    on('media_state', CLIENT_EVENT_SCHEMAS.media_state, (req) => {
      const { room, me } = self();
      me.media = req;
      socket.to(room.name).emit('peer-media', { id: me.id, ...req });
      return null;
    });

    on('mute', CLIENT_EVENT_SCHEMAS.mute, (req) => {
      const { room, me } = self('admin');
      if (!room.members.has(req.peer)) throw new ParleyError('PEER_NOT_FOUND', `peer ${req.peer} is not in room ${room.name}`);
      this.io.to(peerRoom(req.peer)).emit('mute-request', { kind: req.kind, by: me.id });
      return null;
    });

    const featureContext = (): FeatureEventContext => {
      const { room, me } = self();
      return { memberId: me.id, room: room.name, grants: me.grants };
    };
    const notEnabled = (event: string): never => {
      throw new ParleyError('UNSUPPORTED', `${event} is not enabled on this server`);
    };
    for (const event of FEATURE_EVENTS) {
      on(event, CLIENT_EVENT_SCHEMAS[event], (req) => {
        const ctx = featureContext();
        const handler = this.#featureHandlers[event] as ((ctx: FeatureEventContext, req: unknown) => unknown) | undefined;
        return (handler ?? notEnabled(event))(ctx, req);
      });
    }

    socket.onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string' && event in CLIENT_EVENT_SCHEMAS) return;
      log.debug({ event }, 'unknown event dropped');
      const ack = args[args.length - 1];
      if (typeof ack === 'function') {
        const err = new ParleyError('UNSUPPORTED', `unknown event ${String(event).slice(0, 64)}`);
        (ack as (r: unknown) => void)({ ok: false, error: err.toWire() });
      }
    });

    socket.on('disconnect', async (reason) => {
      await this.#events.forget(socket.id);
      const id = myId();
      const room = id === undefined ? undefined : this.registry.roomOf(id);
      const member = id === undefined ? undefined : room?.members.get(id);
      if (id === undefined || !member || member.socketId !== socket.id) return;
      if (FINAL_DISCONNECTS.has(reason)) {
        this.#removePeer(id);
        log.info({ reason, peerId: id }, 'peer disconnected');
        return;
      }
      // The transport dropped: keep the session for a while so the client can resume it.
      member.socketId = undefined;
      member.graceTimer = setTimeout(() => {
        if (this.#removePeer(id)) log.info({ peerId: id }, 'peer did not resume in time');
      }, limits.resumeGraceMs);
      member.graceTimer.unref();
      log.info({ reason, peerId: id, graceMs: limits.resumeGraceMs }, 'peer detached; waiting for resume');
    });
  }

  /** Removes a peer from its room and tells the others. Returns whether it was in one. */
  #removePeer(peerId: string): boolean {
    const room = this.registry.remove(peerId);
    if (!room) return false;
    this.io.in(peerRoom(peerId)).socketsLeave(room.name);
    this.io.to(room.name).emit('peer-left', { id: peerId });
    this.#notify('left', peerId, room.name, room.members.size);
    return true;
  }
}

