import { ParleyError } from '@parley-rtc/protocol';

/**
 * How the SFU connections recover when they fail after setup: the lost slot is published (or the
 * lost producers subscribed) again after `baseDelayMs`, then twice as long after each further
 * failure, at most `maxDelayMs`; the delay starts over once a new connection reaches 'connected'.
 * @internal
 */
export interface SfuRecoveryOptions {
  /** The first retry's delay (default 1000 ms). */
  baseDelayMs?: number;
  /** The longest delay between retries (default 10 000 ms). */
  maxDelayMs?: number;
  /**
   * A connection that stays 'disconnected' this long counts as failed (default 5000 ms). A shorter
   * 'disconnected' is left alone: ICE often recovers from it by itself.
   */
  disconnectedTimeoutMs?: number;
}

/** @internal */
export const SFU_RECOVERY_DEFAULTS: Readonly<Required<SfuRecoveryOptions>> = {
  baseDelayMs: 1000,
  maxDelayMs: 10_000,
  disconnectedTimeoutMs: 5000,
};

/**
 * The options with defaults filled in.
 * @internal
 */
export function recoveryOptions(options: SfuRecoveryOptions | undefined): Required<SfuRecoveryOptions> {
  return { ...SFU_RECOVERY_DEFAULTS, ...options };
}

/**
 * The delay before retry number `attempt` (0 for the first): base, 2×base, 4×base … at most max.
 * @internal
 */
export function retryDelay(attempt: number, options: Required<SfuRecoveryOptions>): number {
  return Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 20));
}

/**
 * Server refusals that another attempt would only repeat (no grant, nothing usable in the SDP).
 * @internal
 */
export function isPermanent(err: unknown): boolean {
  return (
    err instanceof ParleyError &&
    (err.code === 'FORBIDDEN' || err.code === 'UNSUPPORTED' || err.code === 'BAD_SDP' || err.code === 'INVALID_PAYLOAD')
  );
}

/** @internal */
export interface ConnectionWatchHandlers {
  /** Every connectionState change (before `connected` / `lost`). */
  change?(state: RTCPeerConnectionState): void;
  /** The connection reached 'connected'. */
  connected?(): void;
  /**
   * The connection is gone: 'failed', 'closed' (not by us: stop watching before closing it
   * yourself) or 'disconnected' for longer than the timeout. Called at most once.
   */
  lost(state: RTCPeerConnectionState): void;
}

/**
 * Watches a connection's state for failure. Returns `stop()`, which removes the listener and
 * clears the disconnected timer (idempotent); the watch also stops by itself once `lost` ran.
 * @internal
 */
export function watchConnection(pc: RTCPeerConnection, disconnectedTimeoutMs: number, handlers: ConnectionWatchHandlers): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    timer = undefined;
    pc.removeEventListener('connectionstatechange', onChange);
  };
  const lose = (state: RTCPeerConnectionState) => {
    if (stopped) return;
    stop();
    handlers.lost(state);
  };
  function onChange(): void {
    if (stopped) return;
    const state = pc.connectionState;
    handlers.change?.(state);
    if (stopped) return;
    if (state !== 'disconnected') {
      clearTimeout(timer);
      timer = undefined;
    }
    if (state === 'failed' || state === 'closed') lose(state);
    else if (state === 'connected') handlers.connected?.();
    else if (state === 'disconnected' && timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        if (pc.connectionState === 'disconnected') lose('disconnected');
      }, disconnectedTimeoutMs);
    }
  }
  pc.addEventListener('connectionstatechange', onChange);
  return stop;
}
