/**
 * Where a media session's setup time goes: milliseconds from the request to each step, logged
 * once (debug, `session setup`) when the first key frame went out or the session closed first.
 * `npm run bench:media` reads these lines to print the server side of time to first frame.
 */
export type SetupMark = 'peer' | 'answer' | 'iceConnected' | 'connected' | 'trackOpen' | 'firstKeyFrame';

export class SetupTimeline {
  readonly #t0: number;
  readonly #marks: Partial<Record<SetupMark, number>> = {};

  constructor(t0 = performance.now()) {
    this.#t0 = t0;
  }

  /** Records the first time `name` happened; later calls are ignored. */
  mark(name: SetupMark): void {
    if (this.#marks[name] === undefined) this.#marks[name] = Math.round((performance.now() - this.#t0) * 10) / 10;
  }

  has(name: SetupMark): boolean {
    return this.#marks[name] !== undefined;
  }

  get marks(): Readonly<Partial<Record<SetupMark, number>>> {
    return this.#marks;
  }
}
