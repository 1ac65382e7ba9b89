import { PROTOCOL_VERSION, type JoinRequest, type JoinResult } from '@parley-rtc/protocol';
import { ClientError } from './errors.ts';
import { defaultResumeStorage, ResumeStore, type ResumeStorage } from './resumeStore.ts';
import type { ConnectOptions, MediaMode } from './roomTypes.ts';

type Deferred = () => void;

/**
 * Our membership of one room across signaling reconnects and page reloads: where and what we
 * asked to join, the secret that resumes the session (also kept in a storage, sessionStorage in a
 * browser, so a reloaded page takes its seat back), the HTTP credential, and the signaling that
 * arrives while a join is in flight (it waits until the peer list is known, then runs in order).
 * @internal
 */
export class Membership {
  #target: { url: string; args: ConnectOptions } | undefined;
  /** Peer id and secret to resume this session after a signaling reconnect. */
  #resume: { peer: string; key: string } | undefined;
  readonly #store: ResumeStore;
  /** The last join started from nothing kept in memory (first join, or a reloaded page). */
  #restarted = false;
  #session: string | undefined;
  #joinedOnce = false;
  #buffer: Deferred[] | undefined;
  /** The mode the server announced while the join was in flight. */
  #announcedMode: MediaMode | undefined;

  /** `storage`: where the resume secret survives a reload (default: sessionStorage if any; null: nowhere). */
  constructor(storage?: ResumeStorage | null) {
    this.#store = new ResumeStore(storage === null ? undefined : (storage ?? defaultResumeStorage()));
  }

  /**
   * True when the last join started without a session in memory: even if the server gave us a
   * seat back (`resumed`, from the stored key or our token identity), our links and SFU
   * connections are new, and the others rebuild theirs to us.
   */
  get restarted(): boolean {
    return this.#restarted;
  }

  /** The server URL given to the last `connect()`. */
  get url(): string | undefined {
    return this.#target?.url;
  }

  /** What the last `connect()` asked to join. */
  get args(): ConnectOptions | undefined {
    return this.#target?.args;
  }

  /** The HTTP credential of the last joined session. */
  get session(): string | undefined {
    return this.#session;
  }

  /** The mode the server announced while the last join was in flight, if it did. */
  get announcedMode(): MediaMode | undefined {
    return this.#announcedMode;
  }

  /** `connect()`: where and what to join from now on. */
  target(url: string, args: ConnectOptions): void {
    this.#target = { url, args };
  }

  /**
   * Sends the join (resuming the session if we had one; asking for the log after `lastSeq` if we
   * joined before) and keeps what the server gave back. Buffering starts with the request.
   */
  async join(send: (req: JoinRequest) => Promise<JoinResult>, lastSeq: number): Promise<JoinResult> {
    const target = this.#target;
    if (!target) throw new ClientError('invalid-state', 'no room to join');
    const { url, args } = target;
    this.#buffer = [];
    this.#announcedMode = undefined;
    this.#restarted = !this.#resume;
    const stored = this.#resume ? undefined : this.#store.load(url, args.room);
    const resume = this.#resume ?? (stored ? { peer: stored.peer, key: stored.key, restarted: true } : undefined);
    let res: JoinResult;
    try {
      res = await send({
        room: args.room,
        name: args.name,
        ...(args.token !== undefined ? { token: args.token } : {}),
        ...(this.#joinedOnce ? { lastSeq } : {}),
        ...(resume ? { resume } : {}),
        protocol: PROTOCOL_VERSION,
      });
    } catch (err) {
      this.#buffer = undefined;
      throw err;
    }
    this.#joinedOnce = true;
    this.#resume = { peer: res.self.id, key: res.resumeKey };
    this.#store.save(url, { room: args.room, peer: res.self.id, key: res.resumeKey });
    this.#session = res.session;
    return res;
  }

  /** Runs `fn` now when `joined`, after the join while one is in flight, else never. */
  whenJoined(fn: Deferred, joined: boolean): void {
    if (this.#buffer) this.#buffer.push(fn);
    else if (joined) fn();
  }

  /** The server announced a media mode (remembered only while a join is in flight). */
  announce(mode: MediaMode): void {
    if (this.#buffer) this.#announcedMode = mode;
  }

  /** The join result is applied: runs what waited for it. */
  flush(): void {
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const fn of buffered) fn();
  }

  /** The socket dropped: what waited for the join will not run. */
  dropBuffered(): void {
    this.#buffer = undefined;
  }

  /** Left or disconnected for good: the session cannot be resumed (nor by a reload). */
  end(): void {
    if (this.#target) this.#store.clear(this.#target.url, this.#target.args.room);
    this.#resume = undefined;
    this.#buffer = undefined;
  }

  /** A newer access token (same identity and room) for later joins and ICE server refreshes. */
  setToken(token: string): void {
    if (this.#target) this.#target = { url: this.#target.url, args: { ...this.#target.args, token } };
  }
}
