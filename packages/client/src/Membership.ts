import { PROTOCOL_VERSION, type JoinRequest, type JoinResult } from '@parley-rtc/protocol';
import { ClientError } from './errors.ts';
import type { ConnectOptions, MediaMode } from './roomTypes.ts';

type Deferred = () => void;

/**
 * Our membership of one room across signaling reconnects: where and what we asked to join, the
 * secret that resumes the session, the HTTP credential, and the signaling that arrives while a
 * join is in flight (it waits until the peer list is known, then runs in order).
 * @internal
 */
export class Membership {
  #target: { url: string; args: ConnectOptions } | undefined;
  /** Peer id and secret to resume this session after a signaling reconnect. */
  #resume: { peer: string; key: string } | undefined;
  #session: string | undefined;
  #joinedOnce = false;
  #buffer: Deferred[] | undefined;
  /** The mode the server announced while the join was in flight. */
  #announcedMode: MediaMode | undefined;

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
    const args = this.#target?.args;
    if (!args) throw new ClientError('invalid-state', 'no room to join');
    this.#buffer = [];
    this.#announcedMode = undefined;
    let res: JoinResult;
    try {
      res = await send({
        room: args.room,
        name: args.name,
        ...(args.token !== undefined ? { token: args.token } : {}),
        ...(this.#joinedOnce ? { lastSeq } : {}),
        ...(this.#resume ? { resume: this.#resume } : {}),
        protocol: PROTOCOL_VERSION,
      });
    } catch (err) {
      this.#buffer = undefined;
      throw err;
    }
    this.#joinedOnce = true;
    this.#resume = { peer: res.self.id, key: res.resumeKey };
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

  /** Left or disconnected for good: the session cannot be resumed. */
  end(): void {
    this.#resume = undefined;
    this.#buffer = undefined;
  }
}
