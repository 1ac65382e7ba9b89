import { ClientError } from './errors.ts';

/** What a refresh fetches: ICE servers and when their TURN credentials expire (unix seconds). */
export interface IceServersGrant {
  iceServers: RTCIceServer[];
  expiresAt?: number | undefined;
}

/** @internal */
export interface IceRefresherOptions {
  /** Asks the server for fresh ICE servers (`ice_servers`). */
  fetch: () => Promise<IceServersGrant>;
  /** Gives the fresh servers to every connection. */
  apply: (iceServers: RTCIceServer[]) => void;
  /** A refresh failed (it is retried while the credentials are still valid); not while disconnected. */
  onError: (error: Error) => void;
  /** Refresh after this fraction of the credentials' remaining lifetime (default 0.8). */
  at?: number;
  /** Wait at least this long between attempts, ms (default 1000). */
  minDelayMs?: number;
  now?: () => number;
}

/**
 * Keeps TURN credentials fresh: at 80% of their lifetime it asks the server for new ones and
 * applies them, so an ICE restart late in a long call still reaches TURN. Credentials never
 * outlive the access token; when a refresh brings no later expiry (the token's `exp` caps it) it
 * waits for `refreshNow()` (e.g. after a newer token) instead of asking again and again.
 * @internal
 */
export class IceRefresher {
  readonly #opts: IceRefresherOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expiresAt: number | undefined;
  #servers: RTCIceServer[] = [];
  /** Bumped by stop(): a refresh in flight from before is dropped. */
  #generation = 0;
  #closed = false;

  constructor(options: IceRefresherOptions) {
    this.#opts = options;
  }

  /** The ICE servers in use (for connections created from now on). */
  get servers(): RTCIceServer[] {
    return this.#servers;
  }

  /** Uses `servers` (from a join) and refreshes them before `expiresAt` (unix seconds). */
  use(servers: RTCIceServer[], expiresAt: number | undefined): void {
    this.stop(); // a refresh still in flight is older than these
    this.#servers = servers;
    this.#opts.apply(servers);
    this.schedule(expiresAt);
  }

  /** The credentials in use expire at `expiresAt` (unix seconds; undefined: nothing to refresh). */
  schedule(expiresAt: number | undefined): void {
    this.#clearTimer();
    if (this.#closed || expiresAt === undefined) return;
    this.#expiresAt = expiresAt;
    const remainingMs = expiresAt * 1000 - this.#now();
    if (remainingMs <= 0) return;
    this.#arm(Math.max(this.#opts.minDelayMs ?? 1000, remainingMs * (this.#opts.at ?? 0.8)));
  }

  /** Refreshes at once (a newer token may allow longer credentials). */
  refreshNow(): void {
    if (this.#closed) return;
    this.#clearTimer();
    void this.#refresh();
  }

  /** No refreshes until the next schedule() (the session ended or is being rejoined). */
  stop(): void {
    this.#generation++;
    this.#expiresAt = undefined;
    this.#clearTimer();
  }

  /** Stops for good. Idempotent. */
  close(): void {
    this.#closed = true;
    this.stop();
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#refresh();
    }, delayMs);
    // Never keep a Node process (a bot) alive for this alone.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #refresh(): Promise<void> {
    const generation = this.#generation;
    const previous = this.#expiresAt;
    try {
      const grant = await this.#opts.fetch();
      if (generation !== this.#generation || this.#closed) return;
      this.#servers = grant.iceServers;
      this.#opts.apply(grant.iceServers);
      this.#expiresAt = grant.expiresAt;
      // Only a later expiry is worth another refresh; the same cap would only ask again sooner.
      if (grant.expiresAt !== undefined && (previous === undefined || grant.expiresAt > previous)) this.schedule(grant.expiresAt);
    } catch (err) {
      if (generation !== this.#generation || this.#closed) return;
      if (!(err instanceof ClientError && err.reason === 'disconnected'))
        this.#opts.onError(err instanceof Error ? err : new Error(String(err)));
      // Retry while the credentials in use are still valid.
      const remainingMs = previous === undefined ? 0 : previous * 1000 - this.#now();
      if (remainingMs > 2 * (this.#opts.minDelayMs ?? 1000)) this.#arm(Math.min(10_000, remainingMs / 2));
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }
}
