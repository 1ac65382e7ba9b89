/**
 * The room's recording, as a member sees it: the indicator (`recording_state` from the server,
 * also sent on join while the room is recorded) and, for members with the `record` grant,
 * `start()` / `stop()`. The Room emits `recording` when the state changes.
 */
import type { RecordingState } from '@parley-rtc/protocol';
import { ClientError } from './errors.ts';
import type { SignalClient } from './SignalClient.ts';

export class RecordingControl {
  readonly #signal: () => SignalClient | undefined;
  #state: RecordingState = { recording: false, id: null, startedAt: null };

  constructor(signal: () => SignalClient | undefined) {
    this.#signal = signal;
  }

  /** Whether the room is being recorded now, since when, and why the last recording stopped if it failed. */
  get state(): RecordingState {
    return this.#state;
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
