/**
 * Stream keys for WHIP into a room: minted by the server API (`POST /api/v1/rooms/:room/stream-keys`),
 * presented as `Authorization: Bearer <key>` by encoders that cannot fetch a fresh access token
 * (OBS). A key names its room and the display name its publisher joins with.
 *
 * Keys are durable: they live in the room log's database (`stream_keys`, roomlog/StreamKeyStore.ts),
 * so a key configured once in an encoder keeps working after a restart, and on every node of a
 * cluster (which shares one PostgreSQL). Only a SHA-256 of each secret (24 random bytes) is kept,
 * and a key is found by that hash with a unique index: what an index lookup's timing could tell
 * is about hashes of the caller's own guesses, which says nothing about a secret. At most
 * `maxPerRoom` (20) per room, counted in the insert's transaction. Deleting a room deletes its keys.
 *
 * Revoking a key (`delete`) emits `revoked`: RoomMedia ends the publishers that joined with it, on
 * this node and (through the cluster's shared seats) on the others. A database failure rejects
 * with STORAGE_FAILED (503).
 */
import { createHash, randomBytes } from 'node:crypto';
import { ParleyError } from '@parley-rtc/protocol';
import type { StreamKeyView } from '@parley-rtc/protocol/serverApi';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import type { StreamKeyRecord, StreamKeyStore } from '../../roomlog/StreamKeyStore.ts';

/** Stream keys look like this, so a WHIP request tells them from access tokens at a glance. */
export const STREAM_KEY_PREFIX = 'psk_';

/** The identity a stream key's publisher has (its member's is `ingest:` + this). */
export const streamKeyIdentity = (id: string): string => `streamkey:${id}`;

export interface StreamKeysEvents {
  /** A key was revoked: end what it published. */
  revoked: [id: string, room: string];
}

const hashOf = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

const viewOf = (k: StreamKeyRecord): StreamKeyView => ({
  id: k.id,
  room: k.room,
  name: k.name,
  createdAt: k.createdAt,
  ...(k.lastUsedAt === undefined ? {} : { lastUsedAt: k.lastUsedAt }),
});

export class StreamKeys extends TypedEmitter<StreamKeysEvents> {
  readonly #store: StreamKeyStore;
  readonly #maxPerRoom: number;

  constructor(store: StreamKeyStore, opts: { maxPerRoom?: number } = {}) {
    super();
    this.#store = store;
    this.#maxPerRoom = opts.maxPerRoom ?? 20;
  }

  static isStreamKey(bearer: string | undefined): bearer is string {
    return bearer?.startsWith(STREAM_KEY_PREFIX) === true;
  }

  /** A new key for `room`; the secret is returned only here. RATE_LIMITED when the room has `maxPerRoom`. */
  async create(room: string, name: string): Promise<StreamKeyView & { key: string }> {
    const id = `sk-${randomBytes(6).toString('base64url')}`;
    const key = `${STREAM_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
    const view: StreamKeyView = { id, room, name, createdAt: Date.now() };
    const stored = await this.#db('store a stream key', () =>
      this.#store.insert({ id, room, name, hash: hashOf(key), createdAt: view.createdAt }, this.#maxPerRoom),
    );
    if (!stored) throw new ParleyError('RATE_LIMITED', `room ${room} has ${this.#maxPerRoom} stream keys; revoke one first`);
    return { ...view, key };
  }

  async list(room: string): Promise<StreamKeyView[]> {
    return (await this.#db('list stream keys', () => this.#store.list(room))).map(viewOf);
  }

  /** The key `secret` for `room`, if it is one; `use` records this as its last use (a WHIP POST). */
  async find(room: string, secret: string, opts: { use?: boolean } = {}): Promise<StreamKeyView | undefined> {
    const hash = hashOf(secret);
    const found = await this.#db('check a stream key', () => this.#store.find(room, hash, opts.use ? Date.now() : undefined));
    return found && viewOf(found);
  }

  /** Revokes a key of `room`; false when there is none. */
  async delete(room: string, id: string): Promise<boolean> {
    if (!(await this.#db('revoke a stream key', () => this.#store.delete(room, id)))) return false;
    this.emit('revoked', id, room);
    return true;
  }

  /** Runs a store call; a database failure becomes STORAGE_FAILED (a ParleyError, e.g. SHUTTING_DOWN, passes). */
  async #db<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ParleyError) throw err;
      throw new ParleyError('STORAGE_FAILED', `could not ${what}: the database failed`, undefined, err);
    }
  }
}
