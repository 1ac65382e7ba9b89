/**
 * SFU mode for signaling rooms: one Router per room (created on the first publish), the Socket.IO
 * events `sfu_publish` / `sfu_subscribe` / `sfu_close`, and announcements to the room:
 * `sfu_producer` / `sfu_producer_closed` when members publish or stop, `sfu_mode` (mesh while the
 * room has at most `meshMaxPeers` members, SFU above) on join and whenever it changes. A member's
 * SFU connections close when it leaves or disconnects (`peerleft`); the router closes with the last
 * member (`roomempty`) and at shutdown (`shutdown`, from `close()`).
 */
import {
  CLIENT_EVENT_SCHEMAS,
  ParleyError,
  type MediaSource,
  type SfuMode,
  type SfuProducerInfo,
  type SfuPublishResult,
  type SfuSubscribeResult,
  type Speaker,
} from '@parley-rtc/protocol';
import { canPublish, type Grants, type PublishSource } from '../auth/grants.ts';
import { publishSourceOf } from './sfuGrants.ts';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import type { MediaPeerOptions } from '@parley-rtc/rtc/MediaPeer';
import type { FeatureEventContext, MemberInfo, Signaling } from '../signaling/Signaling.ts';
import type { ServerEvents } from '../serverEvents.ts';
import type { Logger } from '../util/logger.ts';
import type { SpeakerLevel } from './ActiveSpeaker.ts';
import type { RouterCloseReason, SfuRoomsCloseReason } from './closeReasons.ts';
import type { Consumer } from './Consumer.ts';
import { Router, type ProducerInfo, type Publication, type RouterOptions } from './Router.ts';
import type { RoomsRelayHook } from './relay/SfuRelay.ts';

export interface SfuRoomsOptions {
  signaling: Signaling;
  connectionOptions: (connectionId: string) => MediaPeerOptions;
  meshMaxPeers: number;
  log: Logger;
  /** SFU connections one member may hold (default 8). */
  maxConnectionsPerMember?: number;
  /** Active-speaker timings (tests shorten them). */
  activeSpeaker?: RouterOptions['activeSpeaker'];
  /** Where track publications are reported (webhooks). */
  events?: ServerEvents;
}

interface RoomState {
  name: string;
  members: number;
  mode: SfuMode['mode'];
  router: Router | undefined;
  /** member id → its SFU connection ids */
  connectionsOf: Map<string, Set<string>>;
  /** producer id → its announcement (what late joiners are told) */
  announced: Map<string, SfuProducerInfo>;
  /** producer id → who published it (reported when it ends, even after the member left) */
  publishers: Map<string, MemberInfo>;
}

export interface SfuRoomsEvents {
  /** A room's router was created (on its first publish). */
  router: [room: string, router: Router];
  /** A room's router closed (its last member left, or shutdown). */
  routerclose: [room: string, reason: RouterCloseReason];
  /** Emitted once, after every router closed (before the listeners are dropped). */
  close: [reason: SfuRoomsCloseReason];
}

export class SfuRooms extends TypedEmitter<SfuRoomsEvents> {
  readonly #opts: SfuRoomsOptions;
  readonly #rooms = new Map<string, RoomState>();
  /** room → what holds it in SFU mode (WHIP publishers, WHEP viewers, a recording): a held room runs in SFU mode. */
  readonly #holds = new Map<string, Set<string>>();
  readonly #offMembership: () => void;
  #closed = false;
  #relay: RoomsRelayHook | undefined;

  constructor(opts: SfuRoomsOptions) {
    super();
    this.#opts = opts;
    const sig = opts.signaling;
    const E = CLIENT_EVENT_SCHEMAS;
    sig.registerClientEvent('sfu_publish', E.sfu_publish, (ctx, req) => this.#publish(ctx, req.sdp, req.source));
    sig.registerClientEvent('sfu_video_size', E.sfu_video_size, (ctx, req) => this.#videoSize(ctx, req.consumerIds, req.width, req.height));
    sig.registerClientEvent('sfu_subscribe', E.sfu_subscribe, (ctx, req) => this.#subscribe(ctx, req.sdp, req.producerIds));
    sig.registerClientEvent('sfu_close', E.sfu_close, (ctx, req) => this.#closeOwn(ctx, req.connectionId));
    sig.registerClientEvent('sfu_pause', E.sfu_pause, (ctx, req) => this.#pause(ctx, req.consumerIds, req.paused));
    this.#offMembership = sig.onMembership({
      joined: (memberId, room, peers) => this.#joined(memberId, room, peers),
      left: (memberId, room, peers) => this.#left(memberId, room, peers),
      resumed: (memberId, room) => this.#resumed(memberId, room),
      restarted: (memberId, room) => this.#restarted(memberId, room),
      grantsChanged: (memberId, room, grants) => this.#grantsChanged(memberId, room, grants),
      muteRequested: (memberId, room, kind) => this.#setMuted(memberId, room, kind, true),
      roomSettingsChanged: (room) => this.#refreshMode(room),
      mediaChanged: (memberId, room, flags) => {
        // The member turned a source back on after an admin mute: forward it again.
        for (const kind of ['audio', 'video', 'screen'] as const) if (flags[kind]) this.#setMuted(memberId, room, kind, false);
      },
    });
  }

  /** Rooms across nodes (relay/SfuRelay.ts): brings producers published on other nodes into a router before a subscribe. */
  setRelay(relay: RoomsRelayHook | undefined): void {
    this.#relay = relay;
  }

  get routerCount(): number {
    let n = 0;
    for (const s of this.#rooms.values()) if (s.router) n++;
    return n;
  }

  /** Routers live in rooms that have an SFU publisher or subscriber (for stats and tests). */
  router(room: string): Router | undefined {
    return this.#rooms.get(room)?.router;
  }

  /** How a room's media flows now (mesh for a room nobody has joined yet) and its mesh → SFU threshold. */
  mediaOf(room: string): { mode: SfuMode['mode']; meshLimit: number } {
    const members = this.#opts.signaling.registry.room(room)?.members.size; // cluster-wide in cluster mode
    return {
      mode: this.#rooms.has(room) && members !== undefined ? this.#modeOf(room, members) : 'mesh',
      meshLimit: this.#meshLimit(room),
    };
  }

  /** The room's mesh → SFU threshold: its own (server API) or the server's. */
  #meshLimit(room: string): number {
    return this.#opts.signaling.registry.room(room)?.meshLimit ?? this.#opts.meshMaxPeers;
  }

  #modeOf(room: string, members: number): SfuMode['mode'] {
    return members > this.#meshLimit(room) || (this.#holds.get(room)?.size ?? 0) > 0 ? 'sfu' : 'mesh';
  }

  /**
   * Keeps `room` in SFU mode while held, under `holder`'s name: a WHIP publisher (media/rooms; mesh
   * members could not reach it — mark it before it joins, so the switch reaches the room first; it
   * is released when that member leaves) or a WHEP viewer of the room (the members then publish
   * through the router) or a room recording (every track must pass the server). A room that is already live switches at once (`sfu_mode`). `release()`
   * ends the hold (idempotent); the room returns to its size rule.
   */
  holdSfu(room: string, holder: string): { release: () => void } {
    let set = this.#holds.get(room);
    if (!set) this.#holds.set(room, (set = new Set()));
    set.add(holder);
    this.#refreshMode(room);
    return {
      release: () => {
        this.#releaseHold(room, holder);
        this.#refreshMode(room);
      },
    };
  }

  #releaseHold(room: string, memberId: string): void {
    const set = this.#holds.get(room);
    if (!set?.delete(memberId)) return;
    if (set.size === 0) this.#holds.delete(room);
  }

  /** Publishes through the room's SFU for a member no socket carries (WHIP ingest), as `sfu_publish` would. */
  publishFor(ctx: FeatureEventContext, sdp: string): Promise<SfuPublishResult> {
    return this.#publish(ctx, sdp, undefined);
  }

  /** What the room's members are told is published (`sfu_producer`), in publishing order. */
  publicationsOf(room: string): SfuProducerInfo[] {
    return [...(this.#rooms.get(room)?.announced.values() ?? [])];
  }

  /** The room's live publications with who published them (a recording attaches to them). */
  publications(room: string): Array<{ publication: Publication; member: MemberInfo; info: SfuProducerInfo }> {
    const state = this.#rooms.get(room);
    const out: Array<{ publication: Publication; member: MemberInfo; info: SfuProducerInfo }> = [];
    for (const [id, info] of state?.announced ?? []) {
      const publication = state?.router?.publication(id);
      const member = state?.publishers.get(id);
      if (publication && member) out.push({ publication, member, info });
    }
    return out;
  }

  #announce(target: string, state: RoomState): void {
    this.#opts.signaling.emitTo(target, 'sfu_mode', { mode: state.mode, meshMaxPeers: this.#meshLimit(state.name), peers: state.members });
  }

  #joined(memberId: string, room: string, members: number): void {
    if (this.#closed) return;
    let state = this.#rooms.get(room);
    if (!state) {
      state = {
        name: room,
        members,
        mode: this.#modeOf(room, members),
        router: undefined,
        connectionsOf: new Map(),
        announced: new Map(),
        publishers: new Map(),
      };
      this.#rooms.set(room, state);
    }
    // The switch is judged on the room's size before and after this join, cluster-wide (members are
    // mirrored from every node): the joiner's node tells the whole room, whatever this node saw before.
    const before = this.#modeOf(room, members - 1);
    state.members = members;
    state.mode = this.#modeOf(room, members);
    this.#announce(state.mode !== before ? room : memberId, state); // a switch: everyone, the joiner included
    for (const p of state.router?.producers() ?? []) {
      const info = state.announced.get(p.id);
      if (info) this.#opts.signaling.emitTo(memberId, 'sfu_producer', info);
    }
  }

  /** A member is back after a transport drop: it may have missed announcements, so repeat them. */
  #resumed(memberId: string, room: string): void {
    const state = this.#rooms.get(room);
    if (!state || this.#closed) return;
    this.#announce(memberId, state);
    for (const info of state.announced.values()) this.#opts.signaling.emitTo(memberId, 'sfu_producer', info);
  }

  /** A new client took the member's seat over: its SFU connections are dead; start it afresh. */
  #restarted(memberId: string, room: string): void {
    const state = this.#rooms.get(room);
    if (!state || this.#closed) return;
    this.#closeConnectionsOf(state, memberId);
    this.#resumed(memberId, room);
  }

  /** The member is gone from its SFU connections (it left, or a new client took its seat). */
  #closeConnectionsOf(state: RoomState, memberId: string): void {
    for (const connectionId of state.connectionsOf.get(memberId) ?? []) state.router?.closeConnection(connectionId, 'peerleft');
    state.connectionsOf.delete(memberId);
  }

  /** The room's mesh limit changed: switch now if the room is on the other side of it. */
  #refreshMode(room: string): void {
    const state = this.#rooms.get(room);
    if (!state || this.#closed) return;
    const mode = this.#modeOf(room, state.members);
    if (mode === state.mode) return;
    state.mode = mode;
    this.#announce(room, state);
  }

  #left(memberId: string, room: string, members: number): void {
    const before = this.#modeOf(room, members + 1);
    this.#releaseHold(room, memberId);
    const state = this.#rooms.get(room);
    if (!state) return;
    state.members = members;
    this.#closeConnectionsOf(state, memberId);
    state.mode = this.#modeOf(room, members);
    if (members > 0 && state.mode !== before) this.#announce(room, state);
    // The router serves this node's members (cluster mode: other nodes' members have their own).
    if ([...(this.#opts.signaling.registry.room(room)?.members.values() ?? [])].some((m) => m.node === undefined)) return;
    state.router?.close('roomempty');
    this.#rooms.delete(room);
  }

  #state(ctx: FeatureEventContext): RoomState {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN');
    const state = this.#rooms.get(ctx.room);
    if (!state) throw new ParleyError('NOT_IN_ROOM');
    const own = state.connectionsOf.get(ctx.memberId)?.size ?? 0;
    if (own >= (this.#opts.maxConnectionsPerMember ?? 8))
      throw new ParleyError('RATE_LIMITED', 'too many SFU connections for one member; close one first');
    return state;
  }

  #routerOf(state: RoomState): Router {
    if (state.router) return state.router;
    const log = this.#opts.log.child({ room: state.name });
    const router = new Router({
      id: state.name,
      connectionOptions: this.#opts.connectionOptions,
      log,
      ...(this.#opts.activeSpeaker ? { activeSpeaker: this.#opts.activeSpeaker } : {}),
    });
    router.on('speakers', (active, speakers) => {
      if (this.#closed) return;
      const known = (s: SpeakerLevel): Speaker | undefined => {
        const peer = state.publishers.get(s.producerId)?.id;
        return peer === undefined ? undefined : { peer, producerId: s.producerId, level: s.level };
      };
      const list = speakers.map(known).filter((s): s is Speaker => s !== undefined);
      this.#opts.signaling.emitTo(state.name, 'sfu_speakers', { active: (active && known(active)) ?? null, speakers: list });
    });
    router.on('producerclose', (id) => {
      const info = state.announced.get(id);
      const publisher = state.publishers.get(id);
      state.announced.delete(id);
      state.publishers.delete(id);
      if (info && publisher)
        this.#opts.events?.emit('trackUnpublished', state.name, publisher, { id, kind: info.kind, source: info.source });
      if (publisher && !this.#closed) this.#opts.signaling.emitTo(state.name, 'sfu_producer_closed', { id, peer: publisher.id });
    });
    router.on('connectionclose', (connectionId) => {
      for (const set of state.connectionsOf.values()) set.delete(connectionId);
    });
    router.once('close', (reason) => {
      this.emit('routerclose', state.name, reason);
    });
    state.router = router;
    this.emit('router', state.name, router);
    return router;
  }

  /** Records a new SFU connection for a member, unless the member left (or the room closed) meanwhile. */
  #own(state: RoomState, ctx: FeatureEventContext, router: Router, connectionId: string): void {
    if (this.#rooms.get(ctx.room) !== state || state.router !== router || router.closed) {
      router.closeConnection(connectionId, 'peerleft');
      throw new ParleyError('NOT_IN_ROOM', 'left the room during setup');
    }
    let set = state.connectionsOf.get(ctx.memberId);
    if (!set) state.connectionsOf.set(ctx.memberId, (set = new Set()));
    set.add(connectionId);
  }

  async #publish(ctx: FeatureEventContext, sdp: string, source: MediaSource | undefined): Promise<SfuPublishResult> {
    if (!canPublish(ctx.grants)) throw new ParleyError('FORBIDDEN', 'the token does not grant publish');
    const state = this.#state(ctx);
    const router = this.#routerOf(state);
    const r = await router.publish(sdp);
    this.#own(state, ctx, router, r.connectionId);
    const refused = r.producers.map((p) => publishSourceOf(p.kind, source)).find((s) => !canPublish(ctx.grants, s));
    if (refused) {
      router.closeConnection(r.connectionId, 'close');
      throw new ParleyError('FORBIDDEN', `the token does not grant publishing ${refused}`);
    }
    const producers: SfuProducerInfo[] = r.producers.map((p) => ({
      id: p.id,
      peer: ctx.memberId,
      kind: p.kind,
      source: source ?? (p.kind === 'audio' ? 'microphone' : 'camera'),
      layers: p.layers,
    }));
    const member = this.#opts.signaling.registry.roomOf(ctx.memberId)?.members.get(ctx.memberId);
    const publisher: MemberInfo = { id: ctx.memberId, name: member?.name ?? ctx.memberId, identity: member?.identity ?? '' };
    for (const p of producers) {
      state.announced.set(p.id, p);
      state.publishers.set(p.id, publisher);
      this.#opts.signaling.emitTo(state.name, 'sfu_producer', p);
      this.#opts.events?.emit('trackPublished', state.name, publisher, { id: p.id, kind: p.kind, source: p.source });
    }
    this.#opts.log.info({ room: state.name, peer: ctx.memberId, producers: producers.length }, 'sfu publish');
    return { connectionId: r.connectionId, answer: r.answer, producers };
  }

  async #subscribe(ctx: FeatureEventContext, sdp: string, producerIds: string[]): Promise<SfuSubscribeResult> {
    if (!ctx.grants.subscribe) throw new ParleyError('FORBIDDEN', 'the token does not grant subscribe');
    const state = this.#state(ctx);
    const live = (): Router | undefined => (this.#rooms.get(state.name) === state && !this.#closed ? this.#routerOf(state) : undefined);
    await this.#relay?.prepare(state.name, producerIds, live);
    if (!state.router) throw new ParleyError('NOT_FOUND', 'nobody publishes through the SFU in this room');
    const router = state.router;
    const r = await router.subscribe(sdp, producerIds);
    this.#own(state, ctx, router, r.connectionId);
    return {
      connectionId: r.connectionId,
      answer: r.answer,
      consumers: r.consumers.map(({ id, producerId, kind, mid }) => ({ id, producerId, kind, mid })),
    };
  }

  #closeOwn(ctx: FeatureEventContext, connectionId: string): null {
    const state = this.#rooms.get(ctx.room);
    if (!state?.connectionsOf.get(ctx.memberId)?.has(connectionId))
      throw new ParleyError('NOT_FOUND', `no SFU connection ${connectionId} of yours`);
    state.router?.closeConnection(connectionId, 'close');
    return null;
  }

  /** The caller's own consumers with these ids (all or nothing: NOT_FOUND otherwise). */
  #ownConsumers(ctx: FeatureEventContext, consumerIds: string[]): { router: Router; consumers: Consumer[] } {
    const state = this.#rooms.get(ctx.room);
    if (!state) throw new ParleyError('NOT_IN_ROOM');
    const own = state.connectionsOf.get(ctx.memberId);
    const router = state.router;
    const consumers = consumerIds.map((id) => {
      const c = router?.consumer(id);
      if (!c || !own?.has(c.connectionId)) throw new ParleyError('NOT_FOUND', `no SFU consumer ${id} of yours`);
      return c;
    });
    if (!router) throw new ParleyError('NOT_FOUND', 'nobody publishes through the SFU in this room');
    return { router, consumers };
  }

  /** Records how large the caller shows these consumers (simulcast layer choice). */
  #videoSize(ctx: FeatureEventContext, consumerIds: string[], width: number, height: number): null {
    const { router, consumers } = this.#ownConsumers(ctx, consumerIds);
    for (const c of consumers) router.setVideoSize(c.id, width, height);
    return null;
  }

  /** Pauses or resumes forwarding to some of the caller's consumers (all or nothing). */
  #pause(ctx: FeatureEventContext, consumerIds: string[], paused: boolean): null {
    const { consumers } = this.#ownConsumers(ctx, consumerIds);
    for (const c of consumers) {
      if (paused) c.pause();
      else c.resume();
    }
    return null;
  }

  /** New grants for a member: close its publications and subscriptions they no longer allow. */
  #grantsChanged(memberId: string, room: string, grants: Grants): void {
    const state = this.#rooms.get(room);
    const router = state?.router;
    if (!state || !router) return;
    const publishing = new Set<string>();
    for (const { producer, source } of this.#producersOf(state, router, memberId)) {
      publishing.add(producer.connectionId);
      if (!canPublish(grants, source)) router.closeConnection(producer.connectionId, 'close');
    }
    if (!grants.subscribe) {
      for (const connectionId of state.connectionsOf.get(memberId) ?? [])
        if (!publishing.has(connectionId)) router.closeConnection(connectionId, 'close');
    }
  }

  /** Admin mute (or its end): stop forwarding the member's producers of that kind until the member turns the kind back on itself. */
  #setMuted(memberId: string, room: string, kind: PublishSource, muted: boolean): void {
    const state = this.#rooms.get(room);
    const router = state?.router;
    if (!state || !router) return;
    for (const { producer, source } of this.#producersOf(state, router, memberId)) if (source === kind) router.setMuted(producer.id, muted);
  }

  /** A member's publications in a room, with the grant (and mute kind) each falls under. */
  #producersOf(state: RoomState, router: Router, memberId: string): Array<{ producer: ProducerInfo; source: PublishSource }> {
    return router
      .producers()
      .filter((p) => state.publishers.get(p.id)?.id === memberId)
      .map((producer) => ({ producer, source: publishSourceOf(producer.kind, state.announced.get(producer.id)?.source) }));
  }

  /** Idempotent: every room's router (connections, producers, consumers) with `shutdown`, then `close`. */
  close(reason: SfuRoomsCloseReason = 'close'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#offMembership();
    for (const s of this.#rooms.values()) s.router?.close('shutdown');
    this.#rooms.clear();
    this.emit('close', reason);
    this.removeAllListeners();
  }
}
