import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, type JoinRequest, type JoinResult } from '@parley-rtc/protocol';
import { Membership } from '../src/Membership.ts';

/** The server refuses a join whose major protocol version differs from its own, so the SDK must say which it speaks. */
it('every join says which protocol version the SDK speaks', async () => {
  const membership = new Membership();
  membership.target('http://server.invalid', { room: 'standup', name: 'Ada' });
  const sent: JoinRequest[] = [];
  const result: JoinResult = {
    self: { id: '_a', name: 'Ada' },
    peers: [],
    iceServers: [],
    lastSeq: 0,
    entries: [],
    truncated: false,
    resumeKey: 'k',
    session: 's',
    resumed: false,
  };
  const send = async (req: JoinRequest) => {
    sent.push(req);
    return result;
  };
  await membership.join(send, 0);
  await membership.join(send, 7);
  assert.deepEqual(
    sent.map((r) => r.protocol),
    [PROTOCOL_VERSION, PROTOCOL_VERSION],
    'the first join and the resuming one',
  );
});
