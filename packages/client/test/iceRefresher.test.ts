import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { IceRefresher, type IceServersGrant } from '../src/IceRefresher.ts';
import { ClientError } from '../src/errors.ts';

/** Lets the refresher's promise chain (fetch → apply → schedule) run to its end. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('IceRefresher', () => {
  let nowMs = 0;
  beforeEach(() => {
    nowMs = 1_000_000_000;
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => mock.timers.reset());

  /** A refresher whose fetch answers from `grants` in turn (an Error entry rejects). */
  function setup(grants: Array<IceServersGrant | Error>) {
    const applied: RTCIceServer[][] = [];
    const errors: Error[] = [];
    let fetches = 0;
    const refresher = new IceRefresher({
      fetch: async () => {
        const next = grants[fetches++];
        if (!next) throw new Error('unexpected fetch');
        if (next instanceof Error) throw next;
        return next;
      },
      apply: (servers) => applied.push(servers),
      onError: (err) => errors.push(err),
      now: () => nowMs,
    });
    return { refresher, applied, errors, fetches: () => fetches };
  }
  const advance = async (ms: number) => {
    nowMs += ms;
    mock.timers.tick(ms);
    await settle();
  };
  const turn = (n: number) => [{ urls: 'turn:t:3478', username: `${n}:p`, credential: 'c' }];
  const sec = () => Math.floor(nowMs / 1000);

  it('refreshes at 80% of the lifetime and applies the new servers', async () => {
    const expiry = sec() + 100;
    const { refresher, applied, fetches } = setup([{ iceServers: turn(expiry + 100), expiresAt: expiry + 100 }]);
    refresher.use(turn(expiry), expiry);
    assert.equal(applied.length, 1, 'the join servers are applied');
    await advance(79_999);
    assert.equal(fetches(), 0);
    await advance(1);
    assert.equal(fetches(), 1);
    assert.deepEqual(applied[1], turn(expiry + 100));
    assert.deepEqual(refresher.servers, turn(expiry + 100));
    refresher.close();
  });

  it('does not ask again when the token caps the new credentials at the same expiry', async () => {
    const expiry = sec() + 10;
    const { refresher, fetches } = setup([{ iceServers: turn(expiry), expiresAt: expiry }]);
    refresher.use(turn(expiry), expiry);
    await advance(8_000);
    assert.equal(fetches(), 1);
    await advance(60_000);
    assert.equal(fetches(), 1, 'no refresh loop toward the expiry');
    refresher.close();
  });

  it('retries a failed refresh while the credentials are valid; a disconnect is not an error', async () => {
    const expiry = sec() + 100;
    const { refresher, errors, fetches, applied } = setup([
      new ClientError('disconnected', 'not connected'),
      new Error('boom'),
      { iceServers: turn(expiry + 500), expiresAt: expiry + 500 },
    ]);
    refresher.use(turn(expiry), expiry);
    await advance(80_000);
    assert.equal(fetches(), 1);
    assert.deepEqual(errors, [], 'disconnected: quiet');
    await advance(10_000);
    assert.equal(fetches(), 2);
    assert.equal(errors.length, 1);
    await advance(10_000);
    assert.equal(fetches(), 3);
    assert.deepEqual(applied.at(-1), turn(expiry + 500));
    refresher.close();
  });

  it('drops a refresh in flight when stopped, and never fires after close()', async () => {
    const expiry = sec() + 10;
    let release: (g: IceServersGrant) => void = () => {};
    const applied: RTCIceServer[][] = [];
    const refresher = new IceRefresher({
      fetch: () => new Promise((resolve) => (release = resolve)),
      apply: (servers) => applied.push(servers),
      onError: () => {},
      now: () => nowMs,
    });
    refresher.use(turn(expiry), expiry);
    await advance(8_000);
    refresher.stop();
    release({ iceServers: turn(expiry + 99), expiresAt: expiry + 99 });
    await settle();
    assert.equal(applied.length, 1, 'the late answer is ignored');
    refresher.use(turn(expiry), expiry);
    refresher.close();
    await advance(60_000);
    assert.equal(applied.length, 2);
  });
});
