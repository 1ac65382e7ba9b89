/**
 * The room's recording, as a member sees it: the indicator (`recording_state` from the server,
 * also sent on join while the room is recorded) and, for members with the `record` grant,
 * `start()` / `stop()`; `allowed` says whether this member has that grant (so an app shows its
 * Record button only to them). The Room emits `recording` when the state changes, and
 * `grantsChanged` when `allowed` may have.
 */
import type { MemberGrants, RecordingState } from '@parley-rtc/protocol';
import { ClientError } from './errors.ts';
import type { SignalClient } from './SignalClient.ts';

export class RecordingControl {
  readonly #signal: () => SignalClient | undefined;
  #state: RecordingState = { recording: false, id: null, startedAt: null };
  #allowed = false;

  constructor(signal: () => SignalClient | undefined) {
    this.#signal = signal;
  }

  /** Whether the room is being recorded now, since when, and why the last recording stopped if it failed. */
  get state(): RecordingState {
    return this.#state;
  }

  /** Whether this member may start and stop the recording (its `record` grant; false before joining). */
  get allowed(): boolean {
    return this.#allowed;
  }

  /** The member's grants, from the join result or `grants_changed` (absent from old servers: allowed). */
  applyGrants(grants: Pick<MemberGrants, 'record'> | undefined): void {
    this.#allowed = grants?.record ?? true;
  }

  /** Starts recording the room (needs the `record` grant; FORBIDDEN otherwise). */
  async start(): Promise<RecordingState> {
    return this.update(await this.#require().recordingStart());
  }

  /** Stops the room's recording (needs the `record` grant). */
  async stop(): Promise<RecordingState> {
    return this.update(await this.#require().recordingStop());
  }

  /** A new state from the server; returns it. */
  update(state: RecordingState): RecordingState {
    this.#state = state;
    return state;
  }

  #require(): SignalClient {
    const s = this.#signal();
    if (!s) throw new ClientError('disconnected', 'not connected to a room');
    return s;
  }
}
