import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RoomState } from '@parley-rtc/protocol';
import { nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';

const SECRET = 'room-controls-secret-0123456789';

describe('room controls: lock, password, participant limit, kick, mute', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ auth: { secret: SECRET } });
  });
  after(async () => {
    await server.close();
  });

  // Each join is its own user: a second join of the same identity would take the first one's seat over.
  let users = 0;
  const token = (room: string, admin = false) =>
    server.app.tokens.mint({ identity: `${admin ? 'host' : 'guest'}-${++users}`, room, grants: { admin } });

  async function join(room: string, opts: { admin?: boolean; password?: string } = {}) {
    const socket: TestSocket = await server.connect();
    const res = await request<{ self: { id: string }; session: string }>(socket, 'join', {
      room,
      name: opts.admin ? 'Host' : 'Guest',
      token: token(room, opts.admin),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
    });
    return { socket, res, id: res.ok ? res.data.self.id : '', session: res.ok ? res.data.session : '' };
  }
  const code = (res: { ok: boolean; error?: { code: string } }) => (res.ok ? 'OK' : res.error?.code);

  it('only admins change settings; members are told the new state', async () => {
    const host = await join('ctl', { admin: true });
    const guest = await join('ctl');
    assert.equal(code(await request(guest.socket, 'room_control', { action: 'lock' })), 'FORBIDDEN');
    const told = nextEvent<RoomState>(guest.socket, 'room_state');
    const res = await request<RoomState>(host.socket, 'room_control', { action: 'lock' });
    assert.deepEqual(res, { ok: true, data: { locked: true, hasPassword: false, maxParticipants: 50 } });
    assert.deepEqual(await told, { locked: true, hasPassword: false, maxParticipants: 50 });
  });

  it('a locked room refuses new members except admins, and opens again on unlock', async () => {
    const host = await join('lockme', { admin: true });
    await request(host.socket, 'room_control', { action: 'lock' });
    assert.equal(code((await join('lockme')).res), 'ROOM_LOCKED');
    assert.equal(code((await join('lockme', { admin: true })).res), 'OK');
    await request(host.socket, 'room_control', { action: 'unlock' });
    assert.equal(code((await join('lockme')).res), 'OK');
  });

  it('a password is required once set, and a wrong one is refused', async () => {
    const host = await join('pw', { admin: true });
    const state = await request<RoomState>(host.socket, 'room_control', { action: 'set_password', password: 'open sesame' });
    assert.equal(state.ok && state.data.hasPassword, true);
    assert.equal(code((await join('pw')).res), 'BAD_PASSWORD');
    assert.equal(code((await join('pw', { password: 'wrong' })).res), 'BAD_PASSWORD');
    assert.equal(code((await join('pw', { password: 'open sesame' })).res), 'OK');
    await request(host.socket, 'room_control', { action: 'clear_password' });
    assert.equal(code((await join('pw')).res), 'OK');
  });

  it('the participant limit applies to new joins', async () => {
    const host = await join('small', { admin: true });
    await join('small');
    await request(host.socket, 'room_control', { action: 'set_max_participants', max: 2 });
    assert.equal(code((await join('small')).res), 'ROOM_FULL');
  });

  it('kick ends the target’s session and tells the others it left; mute asks the target to mute', async () => {
    const host = await join('kick', { admin: true });
    const guest = await join('kick');
    const muted = nextEvent<{ kind: string; by: string }>(guest.socket, 'mute_request');
    assert.equal(code(await request(host.socket, 'mute', { peer: guest.id, kind: 'audio' })), 'OK');
    assert.deepEqual(await muted, { kind: 'audio', by: host.id });
    const ended = nextEvent<{ reason: string }>(guest.socket, 'session_ended');
    const left = nextEvent<{ id: string }>(host.socket, 'peer_left');
    const gone = nextEvent<string>(guest.socket, 'disconnect');
    const messages = (session: string) => fetch(`${server.app.url}/api/rooms/kick/messages`, { headers: { 'x-parley-session': session } });
    assert.equal((await messages(guest.session)).status, 200, 'the guest reads the room log with its credential');
    assert.equal(code(await request(host.socket, 'kick', { peer: guest.id, reason: 'spam' })), 'OK');
    assert.equal((await messages(guest.session)).status, 401, "a kicked member's credential stops working at once");
    assert.equal((await ended).reason, 'kicked');
    assert.deepEqual(await left, { id: guest.id });
    assert.equal(await gone, 'io server disconnect');
    assert.equal(code(await request(host.socket, 'kick', { peer: guest.id })), 'PEER_NOT_FOUND');
    assert.equal(code(await request(host.socket, 'kick', { peer: host.id })), 'PEER_NOT_FOUND', 'an admin cannot kick itself');
  });
});
