import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { data, request, startServer, type TestServer } from '@parley-rtc/test-support/server';
import { Room, type MemberGrants, type MuteNotice } from '../src/index.ts';
import { InertPeerConnection } from '@parley-rtc/test-support/inertPeerConnection';

/**
 * The Room's `muteRequested` and `grantsChanged` events against a real server driven through the
 * server API. Node has no WebRTC or LocalMedia: these peer connections are inert, and the rooms
 * publish nothing (the Chromium e2e test checks that a mute request mutes a real microphone).
 */
// A test double standing in for the browser class; only the members PeerLink touches exist.
const createPeerConnection = () => new InertPeerConnection() as unknown as RTCPeerConnection;

const API_KEY = 'backend';
const API_SECRET = 'mute-grants-secret-0123456789';

function nextRoomEvent<T>(room: Room, event: 'muteRequested' | 'grantsChanged', timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = room.on(event, (arg: unknown) => {
      clearTimeout(timer);
      off();
      resolve(arg as T);
    });
  });
}

describe('Room: mute requests and grant changes from the server', () => {
  let server: TestServer;
  let api: ServerClient;
  const rooms: Room[] = [];
  before(async () => {
    server = await startServer({ auth: { apiKeys: { [API_KEY]: API_SECRET } } });
    api = createServerClient({ url: server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
  });
  after(async () => {
    for (const r of rooms) r.close();
    await server.close();
  });

  async function joined(roomName: string, options: { applyMuteRequests?: boolean } = {}) {
    const { token } = await api.mintToken({ room: roomName, identity: `u${rooms.length}`, name: 'N' });
    const room = new Room({
      createPeerConnection,
      ackTimeoutMs: 3000,
      ...(options.applyMuteRequests !== undefined ? { applyMuteRequests: options.applyMuteRequests } : {}),
    });
    rooms.push(room);
    const self = await room.connect(server.app.url, { room: roomName, name: 'N', token });
    return { room, id: self.id };
  }

  it('emits muteRequested with by "server" for the server API, and an admin member id for an admin', async () => {
    const member = await joined('mute-events');
    const fromApi = nextRoomEvent<MuteNotice>(member.room, 'muteRequested');
    await api.muteMember('mute-events', member.id, 'audio');
    assert.deepEqual(await fromApi, { kind: 'audio', by: 'server' });

    // An admin member mutes with the socket event `mute`; `by` is its member id.
    const { token } = await api.mintToken({ room: 'mute-events', identity: 'admin', name: 'Admin', grants: { admin: true } });
    const adminSocket = await server.connect();
    const adminJoin = data(await request<{ self: { id: string } }>(adminSocket, 'join', { room: 'mute-events', name: 'Admin', token }));
    const fromAdmin = nextRoomEvent<MuteNotice>(member.room, 'muteRequested');
    data(await request(adminSocket, 'mute', { peer: member.id, kind: 'screen' }));
    assert.deepEqual(await fromAdmin, { kind: 'screen', by: adminJoin.self.id });
  });

  it('still emits muteRequested with applyMuteRequests: false (without LocalMedia nothing else happens)', async () => {
    const member = await joined('mute-optout', { applyMuteRequests: false });
    const event = nextRoomEvent<MuteNotice>(member.room, 'muteRequested');
    await api.muteMember('mute-optout', member.id, 'video');
    assert.deepEqual(await event, { kind: 'video', by: 'server' });
    assert.equal(member.room.state, 'connected');
  });

  it('emits grantsChanged with the grants now in force', async () => {
    const member = await joined('grant-events');
    const event = nextRoomEvent<MemberGrants>(member.room, 'grantsChanged');
    await api.updateMember('grant-events', member.id, { grants: { publish: ['audio'], chat: false } });
    const grants = await event;
    assert.deepEqual(grants.publish, ['audio']);
    assert.equal(grants.chat, false);
    assert.equal(grants.subscribe, true);
  });
});
