/**
 * Stream keys for WHIP into a room: minted by the server API (`POST /api/v1/rooms/:room/stream-keys`),
 * presented as `Authorization: Bearer <key>` by encoders that cannot fetch a fresh access token
 * (OBS). A key names its room and the display name its publisher joins with. Only a hash of the
 * secret is kept, in memory: keys do not survive a restart, and revoking one (`delete`) removes a
 * publisher that joined with it (`revoked` listeners).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { StreamKeyView } from '@parley-rtc/protocol/serverApi';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { sameSecret } from '../../util/sameSecret.ts';

/** Stream keys look like this, so a WHIP request tells them from access tokens at a glance. */
export const STREAM_KEY_PREFIX = 'psk_';

interface StoredKey extends StreamKeyView {
  hash: string;
}

export interface StreamKeysEvents {
  /** A key was revoked: end what it published. */
  revoked: [id: string, room: string];
}

const hashOf = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

export class StreamKeys extends TypedEmitter<StreamKeysEvents> {
  readonly #byId = new Map<string, StoredKey>();
  readonly #maxPerRoom: number;

  constructor(opts: { maxPerRoom?: number } = {}) {
    super();
    this.#maxPerRoom = opts.maxPerRoom ?? 20;
  }

  static isStreamKey(bearer: string | undefined): bearer is string {
    return bearer?.startsWith(STREAM_KEY_PREFIX) === true;
  }

  /** A new key for `room`; the secret is returned only here. */
  create(room: string, name: string): StreamKeyView & { key: string } {
    if (this.list(room).length >= this.#maxPerRoom)
      throw new RangeError(`room ${room} has ${this.#maxPerRoom} stream keys; revoke one first`);
    const id = `sk-${randomBytes(6).toString('base64url')}`;
    const key = `${STREAM_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
    const view: StreamKeyView = { id, room, name, createdAt: Date.now() };
    this.#byId.set(id, { ...view, hash: hashOf(key) });
    return { ...view, key };
  }

  list(room: string): StreamKeyView[] {
    return [...this.#byId.values()].filter((k) => k.room === room).map(({ hash: _hash, ...view }) => view);
  }

  /** The key `secret` for `room`, if it is one (compared in constant time). */
  find(room: string, secret: string): StreamKeyView | undefined {
    const hash = hashOf(secret);
    for (const { hash: h, ...view } of this.#byId.values()) if (view.room === room && sameSecret(h, hash)) return view;
    return undefined;
  }

  /** Revokes a key of `room`; false when there is none. */
  delete(room: string, id: string): boolean {
    const k = this.#byId.get(id);
    if (!k || k.room !== room) return false;
    this.#byId.delete(id);
    this.emit('revoked', id, room);
    return true;
  }
}
