import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IceServersResult, JoinResult } from '@parley-rtc/protocol';
import { data, errorCode, request, startServer, type TestServer } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';

const SECRET = 'ice-refresh-secret-0123456789abcdef';
const TURN_URL = 'turn:127.0.0.1:3478?transport=udp';

/** The expiry (unix seconds) in a TURN REST username, `<expiry>:<peer id>`. */
function turnExpiry(servers: { urls: string | string[]; username?: string | undefined }[]): number {
  const turn = servers.find((s) => s.username !== undefined);
  assert.ok(turn?.username, 'a TURN entry with credentials');
  return Number(turn.username.split(':')[0]);
}

describe('TURN credentials follow the token', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ auth: { secret: SECRET }, turn: { urls: [TURN_URL], secret: 't'.repeat(24), ttlSec: 86_400 } });
  });
  after(async () => {
    await server.close();
  });

  it('expire no later than the token, and ice_servers returns newer ones (bounded by a newer token)', async () => {
    const room = 'ice-refresh';
    const tokenExp = () => Math.floor(Date.now() / 1000);
    const socket = await server.connect();
    const short = server.app.tokens.mint({ identity: 'ada', room, ttlSec: 30 });
    const joinedAt = tokenExp();
    const joined = data(await request<JoinResult>(socket, 'join', { room, name: 'Ada', token: short }));
    const first = turnExpiry(joined.iceServers);
    assert.ok(first <= joinedAt + 30 + 1, `credentials (${first}) end by the token's exp (~${joinedAt + 30})`);
    assert.ok(first >= joinedAt + 29, 'and not much sooner');
    assert.equal(joined.iceExpiresAt, first);

    // A second later, the same token gives credentials with the same cap (never beyond exp)...
    await waitFor(() => tokenExp() > joinedAt, 3000, 'the next second');
    const again = data(await request<IceServersResult>(socket, 'ice_servers', {}));
    assert.equal(turnExpiry(again.iceServers), first);
    assert.equal(again.expiresAt, first);
    assert.notEqual(again.iceServers.find((s) => s.username)?.credential, undefined);

    // ...and a newer token of the same identity extends them.
    const longer = server.app.tokens.mint({ identity: 'ada', room, ttlSec: 600 });
    const fresh = data(await request<IceServersResult>(socket, 'ice_servers', { token: longer }));
    const renewed = turnExpiry(fresh.iceServers);
    assert.ok(renewed > first, 'newer credentials');
    assert.ok(renewed <= tokenExp() + 600 + 1);
    assert.equal(fresh.expiresAt, renewed);

    // A token of another identity is refused; so is a request from outside a room.
    const mallory = server.app.tokens.mint({ identity: 'mallory', room, ttlSec: 3600 });
    assert.equal(errorCode(await request(socket, 'ice_servers', { token: mallory })), 'FORBIDDEN');
    const outsider = await server.connect();
    assert.equal(errorCode(await request(outsider, 'ice_servers', {})), 'NOT_IN_ROOM');
  });

  it('GET /api/ice-servers caps TURN credentials at the token expiry too', async () => {
    const issued = Math.floor(Date.now() / 1000);
    const token = server.app.tokens.mint({ identity: 'http-user', room: 'ice-http', ttlSec: 45 });
    const res = await fetch(`${server.app.url}/api/ice-servers?room=ice-http`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { iceServers: { urls: string | string[]; username?: string }[]; expiresAt?: number };
    const expiry = turnExpiry(body.iceServers);
    assert.ok(expiry <= issued + 45 + 1 && expiry >= issued + 44, `credentials end with the token (${expiry} vs ${issued + 45})`);
    assert.equal(body.expiresAt, expiry);
  });
});
