/**
 * Rooms meet broadcast (docs/media.md, "Rooms over WHIP and WHEP"):
 * - `ingest()`: a WHIP publisher becomes a member of the room (seated by Signaling without a
 *   socket, so the others see `peer_joined`) whose tracks are published through the room's SFU; the
 *   room runs in SFU mode while it is in it (mesh members could not reach it). The member leaves
 *   (`peer_left`) when its connection ends: DELETE, ICE failure, a kick, its stream key revoked.
 * - `watch()`: a WHEP (or `/offer`-style) viewer of a member's camera or screen with its audio, or
 *   of the room's active speaker (`SpeakerView`) with the room's audio mix (`RoomAudioMix`: one per
 *   room, shared by its active-speaker viewers, closed with the last one). Viewers are not members; simulcast layers follow
 *   the viewer's REMB as for any SFU subscriber. A watched room runs in SFU mode (a mesh room
 *   switches, and the request waits a few seconds for its members to publish there).
 * Each session is one SFU connection of the room's Router; trickled candidates go to its peer.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ParleyError, type SfuProducerInfo } from '@parley-rtc/protocol';
import { parseSdp } from '@parley-rtc/rtc/sdp';
import type { Grants } from '../../auth/grants.ts';
import type { ConsumerInfo, Router } from '../../sfu/Router.ts';
import type { SfuRooms } from '../../sfu/SfuRooms.ts';
import type { Signaling } from '../../signaling/Signaling.ts';
import type { Logger } from '../../util/logger.ts';
import { RoomAudioMix } from '../../sfu/mix/RoomAudioMix.ts';
import { SpeakerView } from './SpeakerView.ts';
import { streamKeyIdentity } from './StreamKeys.ts';

export type RoomSessionRole = 'whip' | 'whep';

export interface RoomSession {
  readonly id: string;
  readonly role: RoomSessionRole;
  readonly room: string;
  readonly connectionId: string;
  /** The ingest member (WHIP). */
  readonly memberId: string | undefined;
  /** The entity tag of the session's resource (RFC 9725 §4.3: If-Match on PATCH). */
  readonly etag: string;
  /** ICE ufrag of the client's offer (a PATCH with another one asks for an ICE restart). */
  readonly remoteUfrag: string | undefined;
  readonly router: Router;
}

export interface IngestRequest {
  room: string;
  /** The client's address (sessions per client are limited). */
  client: string;
  offer: string;
  name: string;
  /** Who publishes (token subject, or `streamkey:<id>`); the member's identity is `ingest:<identity>`. */
  identity: string;
  grants: Grants;
  /** Set when the publisher authenticated with a stream key (revoking the key ends the session). */
  streamKeyId?: string;
}

export interface WatchRequest {
  room: string;
  client: string;
  offer: string;
  /** A member id, or undefined for the active speaker. */
  member: string | undefined;
  /** Which of the member's videos: its camera (default) or its screen. */
  source: 'camera' | 'screen';
}

interface Entry extends RoomSession {
  client: string;
  streamKeyId: string | undefined;
  offs: Array<() => void>;
  view: SpeakerView | undefined;
  closed: boolean;
}

const newMemberId = () => `_${randomBytes(9).toString('base64url')}`;
const ufragOf = (sdp: string): string | undefined => /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];

export class RoomMedia {
  readonly #sfu: SfuRooms;
  readonly #signaling: Signaling;
  readonly #log: Logger;
  readonly #sessions = new Map<string, Entry>();
  /** How long a WHEP request waits for a room that just switched to SFU mode to publish there. */
  readonly #settleMs: number;
  #closed = false;

  /** Live sessions per client address (`maxPerClient`). */
  readonly #perClient = new Map<string, number>();
  readonly #maxPerClient: number;

  constructor(opts: { sfu: SfuRooms; signaling: Signaling; log: Logger; maxPerClient: number; settleMs?: number }) {
    this.#settleMs = opts.settleMs ?? 8000;
    this.#maxPerClient = opts.maxPerClient;
    this.#sfu = opts.sfu;
    this.#signaling = opts.signaling;
    this.#log = opts.log;
  }

  get size(): number {
    return this.#sessions.size;
  }

  session(id: string): RoomSession | undefined {
    return this.#sessions.get(id);
  }

  /** WHIP into a room: seats the publisher, publishes its offer through the room's SFU, answers. */
  async ingest(req: IngestRequest): Promise<{ session: RoomSession; answer: string }> {
    this.#admit(req.client);
    parseSdp(req.offer); // a bad offer is refused before the room sees anyone join (BAD_SDP)
    const memberId = newMemberId();
    const hold = this.#sfu.holdSfu(req.room, memberId);
    try {
      await this.#signaling.addServerMember(req.room, {
        id: memberId,
        name: req.name,
        identity: `ingest:${req.identity}`,
        grants: req.grants,
      });
    } catch (err) {
      hold.release();
      throw err;
    }
    try {
      const r = await this.#sfu.publishFor({ memberId, room: req.room, grants: req.grants }, req.offer);
      const router = this.#sfu.router(req.room);
      if (!router) throw new ParleyError('INTERNAL', 'the room has no router after a publish');
      const entry = this.#add('whip', req, r.connectionId, router, memberId, req.streamKeyId);
      this.#log.info({ room: req.room, session: entry.id, memberId, producers: r.producers.length }, 'whip into room');
      return { session: entry, answer: r.answer };
    } catch (err) {
      this.#signaling.removeServerMember(memberId);
      throw err;
    }
  }

  /** WHEP out of a room: a member's video + audio, or the active speaker. */
  async watch(req: WatchRequest): Promise<{ session: RoomSession; answer: string }> {
    this.#admit(req.client);
    const live = this.#signaling.registry.room(req.room);
    if (!live) throw new ParleyError('ROOM_NOT_FOUND', `no room ${req.room}`);
    if (req.member !== undefined && !live.members.has(req.member))
      throw new ParleyError('PEER_NOT_FOUND', `no member ${req.member} in room ${req.room}`);
    const kinds = receivedKinds(req.offer);
    if (kinds.size === 0) throw new ParleyError('UNSUPPORTED', 'the offer receives neither audio nor video');
    // Watching needs the SFU: a mesh room switches while it is watched, and its members publish there.
    const switched = this.#sfu.mediaOf(req.room).mode === 'mesh';
    const hold = this.#sfu.holdSfu(req.room, `whep-${randomUUID()}`);
    let entry: Entry;
    let view: SpeakerView | undefined;
    let mix: ReturnType<typeof RoomAudioMix.acquire> | undefined;
    let consumers: ConsumerInfo[];
    let answer: string;
    try {
      const picks = () => {
        const pubs = this.#sfu.publicationsOf(req.room);
        return (req.member === undefined ? speakerPicks(pubs) : memberPicks(pubs, req.member, req.source)).filter((p) => kinds.has(p.kind));
      };
      if (switched) await this.#settle(picks, kinds.size);
      const router = this.#sfu.router(req.room);
      if (!router || picks().length === 0) {
        throw new ParleyError(
          'NOTHING_PUBLISHED',
          req.member === undefined
            ? `nobody publishes in room ${req.room}`
            : `member ${req.member} publishes no ${req.source} video or audio`,
        );
      }
      // the active speaker's viewers hear the whole room: its audio mix (started for the first of them)
      if (req.member === undefined && kinds.has('audio')) mix = RoomAudioMix.acquire(router, { log: this.#log });
      const mixId = mix?.mix.producer.id;
      view = req.member === undefined ? new SpeakerView(router, () => this.#sfu.publicationsOf(req.room), mixId) : undefined;
      const wanted = view ? view.initial().filter((p) => kinds.has(p.kind)) : picks();
      const r = await router.subscribe(
        req.offer,
        wanted.map((p) => p.id),
      );
      entry = this.#add('whep', req, r.connectionId, router, undefined, undefined);
      ({ consumers, answer } = r);
    } catch (err) {
      mix?.release();
      hold.release();
      throw err;
    }
    entry.offs.push(hold.release);
    if (mix) entry.offs.push(mix.release);
    if (view) {
      entry.view = view;
      view.start(consumers);
    } else {
      // a member's view ends when what it shows ends (the member left or stopped publishing)
      const mine = new Set(consumers.map((c) => c.id));
      entry.offs.push(
        entry.router.on('consumerclose', (id) => {
          if (mine.delete(id) && mine.size === 0) this.stop(entry.id, 'publisher gone');
        }),
      );
    }
    this.#log.info({ room: req.room, session: entry.id, member: req.member ?? '(active speaker)' }, 'whep out of room');
    return { session: entry, answer };
  }

  /**
   * Waits (up to `settleMs`) until `picks` finds one publication per wanted kind: members of a room
   * that just switched to SFU mode publish there within a second or two. Returns at once when they do.
   */
  async #settle(picks: () => SfuProducerInfo[], kinds: number): Promise<void> {
    const deadline = Date.now() + this.#settleMs;
    while (picks().length < kinds && Date.now() < deadline && !this.#closed) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  #admit(client: string): void {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN');
    if ((this.#perClient.get(client) ?? 0) >= this.#maxPerClient)
      throw new ParleyError('RATE_LIMITED', `at most ${this.#maxPerClient} room media sessions per client`);
  }

  #add(
    role: RoomSessionRole,
    req: { room: string; offer: string; client: string },
    connectionId: string,
    router: Router,
    memberId: string | undefined,
    streamKeyId: string | undefined,
  ): Entry {
    const { room, client } = req;
    this.#perClient.set(client, (this.#perClient.get(client) ?? 0) + 1);
    const entry: Entry = {
      id: randomUUID(),
      role,
      room,
      client,
      connectionId,
      memberId,
      etag: `"${randomBytes(9).toString('base64url')}"`,
      remoteUfrag: ufragOf(req.offer),
      router,
      streamKeyId,
      offs: [],
      view: undefined,
      closed: false,
    };
    this.#sessions.set(entry.id, entry);
    entry.offs.push(
      router.on('connectionclose', (id) => {
        if (id === connectionId) this.stop(entry.id, 'connection closed');
      }),
      router.once('close', () => this.stop(entry.id, 'room closed')),
    );
    return entry;
  }

  /** Adds trickled candidates (`a=candidate:` lines after their `a=mid:`) to a session's peer. */
  addCandidates(id: string, fragment: string): void {
    const entry = this.#sessions.get(id);
    const peer = entry && entry.router.connection(entry.connectionId);
    if (!entry || !peer) throw new ParleyError('NOT_FOUND', `no room media session ${id}`);
    let mid = peer.tracks[0]?.mid ?? '0';
    for (const line of fragment.split(/\r?\n/)) {
      if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
      else if (line.startsWith('a=candidate:')) {
        try {
          peer.addRemoteCandidate(line.trim(), mid);
        } catch (err) {
          throw new ParleyError('INVALID_PAYLOAD', `bad candidate: ${(err as Error).message}`);
        }
      }
    }
  }

  /**
   * A stream key of `room` was revoked: this node's sessions that authenticated with it end, and so
   * do its publishers seated through other nodes (cluster mode): the registry mirrors every node's
   * seats, so they are ended like a server API kick, and their node ends their WHIP session when
   * their seat goes (the SFU closes a member's connections when it leaves).
   */
  revokeStreamKey(keyId: string, room: string): void {
    for (const e of [...this.#sessions.values()]) if (e.streamKeyId === keyId) this.stop(e.id, 'stream key revoked');
    const identity = `ingest:${streamKeyIdentity(keyId)}`;
    for (const m of [...(this.#signaling.registry.room(room)?.members.values() ?? [])])
      if (m.identity === identity) this.#signaling.endSession(m.id, 'kicked', 'the stream key was revoked');
  }

  /** Ends a session (idempotent): its SFU connection closes; a WHIP member leaves the room. False when unknown. */
  stop(id: string, reason = 'deleted'): boolean {
    const entry = this.#sessions.get(id);
    if (!entry || entry.closed) return false;
    entry.closed = true;
    this.#sessions.delete(id);
    const n = (this.#perClient.get(entry.client) ?? 1) - 1;
    if (n <= 0) this.#perClient.delete(entry.client);
    else this.#perClient.set(entry.client, n);
    for (const off of entry.offs) off();
    entry.view?.close();
    entry.router.closeConnection(entry.connectionId, 'close');
    if (entry.memberId !== undefined) this.#signaling.removeServerMember(entry.memberId);
    this.#log.info({ room: entry.room, session: id, role: entry.role, reason }, 'room media session ended');
    return true;
  }

  /** Idempotent: ends every session. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#sessions.keys()]) this.stop(id, 'shutdown');
  }
}

/** A member's publications a viewer gets: its camera (or screen) video and its microphone. */
function memberPicks(pubs: SfuProducerInfo[], member: string, source: 'camera' | 'screen'): SfuProducerInfo[] {
  const own = pubs.filter((p) => p.peer === member);
  const video = own.find((p) => p.kind === 'video' && p.source === source);
  const audio =
    own.find((p) => p.kind === 'audio' && p.source === (source === 'screen' ? 'screen' : 'microphone')) ??
    own.find((p) => p.kind === 'audio');
  return [video, audio].filter((p): p is SfuProducerInfo => p !== undefined);
}

/** What an active-speaker view starts from, at most: a camera and a microphone (SpeakerView picks which). */
function speakerPicks(pubs: SfuProducerInfo[]): SfuProducerInfo[] {
  return [pubs.find((p) => p.kind === 'video'), pubs.find((p) => p.kind === 'audio')].filter((p): p is SfuProducerInfo => p !== undefined);
}

/** The kinds an offer receives (sections with a port, not send-only or inactive). */
export function receivedKinds(offer: string): Set<'audio' | 'video'> {
  const kinds = new Set<'audio' | 'video'>();
  for (const section of offer.split(/\r?\nm=/).slice(1)) {
    const kind = /^(audio|video) (\d+)/.exec(section);
    if (!kind || kind[2] === '0' || /\na=(sendonly|inactive)/.test(section)) continue;
    kinds.add(kind[1] as 'audio' | 'video');
  }
  return kinds;
}
