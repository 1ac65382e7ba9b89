import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError } from '@parley-rtc/protocol';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { collect, data, errorCode, nextEvent, request, startServer, type TestServer } from '@parley-rtc/test-support/server';
import { waitFor } from '@parley-rtc/test-support/poll';

const API_KEY = 'backend';
const API_SECRET = 'server-api-secret-0123456789';
const ADMIN_KEY = 'server-api-admin-key-0123456789';

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    assert.ok(err instanceof ParleyError, String(err));
    return err.code;
  }
}

describe('server API through createServerClient', () => {
  let server: TestServer;
  let api: ServerClient;

  before(async () => {
    server = await startServer({ auth: { apiKeys: { [API_KEY]: API_SECRET } }, adminKey: ADMIN_KEY });
    api = createServerClient({ url: server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
  });
  after(() => server.close());

  async function join(room: string, identity: string, name: string, grants?: Record<string, unknown>) {
    const { token } = await api.mintToken({ room, identity, name, ...(grants ? { grants } : {}) });
    const socket = await server.connect();
    const joined = data(await request<{ self: { id: string } }>(socket, 'join', { room, name, token }));
    return { socket, id: joined.self.id };
  }

  it('refuses a wrong secret, an unknown key and no credentials (401), and names the bad field (400)', async () => {
    for (const client of [
      createServerClient({ url: server.app.url, apiKey: API_KEY, apiSecret: 'wrong-secret-0123456789' }),
      createServerClient({ url: server.app.url, apiKey: 'nobody', apiSecret: API_SECRET }),
      createServerClient({ url: server.app.url, bearer: 'not-a-token' }),
    ]) {
      assert.match(await code(client.listRooms()), /UNAUTHORIZED|TOKEN_INVALID/);
    }
    const res = await fetch(`${server.app.url}/api/v1/rooms`);
    assert.equal(res.status, 401);
    const bad = await fetch(`${server.app.url}/api/v1/rooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ok-room', maxMembers: 0 }),
    });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'INVALID_PAYLOAD');
    assert.match(body.error.message, /^maxMembers: /);
    assert.equal(await code(api.createRoom({ name: 'bad name!' })), 'INVALID_PAYLOAD');
  });

  it('creates a managed room whose settings hold for joiners, lists it empty, and deletes it', async () => {
    const created = await api.createRoom({ name: 'managed', maxMembers: 2, meshLimit: 0 });
    assert.equal(created.managed, true);
    assert.equal(created.maxMembers, 2);
    assert.equal((await api.createRoom({ name: 'managed', maxMembers: 2 })).name, 'managed', 'create is idempotent');
    assert.ok((await api.listRooms()).some((r) => r.name === 'managed' && r.members === 0));

    const a = await join('managed', 'ada', 'Ada');
    const b = await join('managed', 'bob', 'Bob');
    const third = await server.connect();
    const { token } = await api.mintToken({ room: 'managed', identity: 'cy', name: 'Cy' });
    assert.equal(errorCode(await request(third, 'join', { room: 'managed', name: 'Cy', token })), 'ROOM_FULL');

    const detail = await api.getRoom('managed');
    assert.equal(detail.mode, 'sfu', 'meshLimit 0: the SFU from the first member');
    assert.deepEqual(detail.memberList.map((m) => m.identity).sort(), ['ada', 'bob']);
    assert.ok(detail.memberList.every((m) => m.connected));

    const sent = await api.sendMessage('managed', { kind: 'chat', text: 'hello from the backend' });
    assert.ok(sent.seq >= 1);
    const members = await api.listMembers('managed');
    assert.equal(members.length, 2);
    assert.equal((await api.getRoom('managed')).log.lastSeq, sent.seq);

    const ended = nextEvent<{ reason: string }>(a.socket, 'session_ended');
    const deleted = await api.deleteRoom('managed');
    assert.ok(deleted.entries >= 1);
    assert.equal((await ended).reason, 'room-closed');
    assert.equal(await code(api.getRoom('managed')), 'ROOM_NOT_FOUND');
    assert.ok(!(await api.listRooms()).some((r) => r.name === 'managed'));
    b.socket.disconnect();
  });

  it('kicks a member at once, mutes it, changes its grants live, and sends chat as the server', async () => {
    const a = await join('ops', 'ada', 'Ada');
    const b = await join('ops', 'bob', 'Bob');
    const chat = collect<{ text: string; from: { id: string } }>(a.socket, 'chat_message');

    const mute = nextEvent<{ kind: string; by: string }>(b.socket, 'mute_request');
    await api.muteMember('ops', b.id, 'audio');
    assert.deepEqual(await mute, { kind: 'audio', by: 'server' });

    const view = await api.updateMember('ops', b.id, { grants: { chat: false } });
    assert.equal(view.grants.chat, false);
    assert.equal(errorCode(await request(b.socket, 'chat_message', { text: 'hi' })), 'FORBIDDEN');
    await api.updateMember('ops', b.id, { grants: { chat: true } });
    data(await request(b.socket, 'chat_message', { text: 'back' }));

    await api.sendMessage('ops', { kind: 'chat', text: 'maintenance at noon' });
    const left = nextEvent<{ id: string }>(a.socket, 'peer_left');
    const kicked = nextEvent<{ reason: string }>(b.socket, 'session_ended');
    await api.removeMember('ops', b.id, 'bye');
    assert.deepEqual(await kicked, { reason: 'kicked', message: 'bye' });
    assert.equal((await left).id, b.id);
    assert.deepEqual(
      (await api.listMembers('ops')).map((m) => m.id),
      [a.id],
    );
    assert.equal(await code(api.removeMember('ops', b.id)), 'PEER_NOT_FOUND');
    assert.deepEqual(
      chat.items.map((c) => c.text),
      ['back', 'maintenance at noon'],
    );
    assert.equal(chat.items[1]!.from.id, 'server');
    chat.stop();
  });

  it('scopes a room admin token to its room', async () => {
    const { token } = await api.mintToken({ room: 'mine', identity: 'owner', grants: { admin: true } });
    const owner = createServerClient({ url: server.app.url, bearer: token });
    assert.equal((await owner.createRoom({ name: 'mine' })).name, 'mine');
    assert.equal(await code(owner.createRoom({ name: 'theirs' })), 'FORBIDDEN');
    assert.equal(await code(owner.listRooms()), 'FORBIDDEN');
    const plain = (await api.mintToken({ room: 'mine', identity: 'guest' })).token;
    assert.equal(await code(createServerClient({ url: server.app.url, bearer: plain }).getRoom('mine')), 'FORBIDDEN');
    await api.deleteRoom('mine');
  });
});

describe('server API decisions hold', () => {
  let server: TestServer;
  let api: ServerClient;
  before(async () => {
    server = await startServer({ auth: { apiKeys: { [API_KEY]: API_SECRET } }, media: { sfuMeshMaxPeers: 4 } });
    api = createServerClient({ url: server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
  });
  after(() => server.close());

  async function join(room: string, identity: string) {
    const { token } = await api.mintToken({ room, identity, name: identity });
    const socket = await server.connect();
    const ack = data(await request<{ self: { id: string }; resumeKey: string }>(socket, 'join', { room, name: identity, token }));
    return { socket, token, id: ack.self.id, resumeKey: ack.resumeKey };
  }

  it('a member removed while offline cannot resume, and its room is not re-created', async () => {
    const eve = await join('ended', 'eve');
    eve.socket.io.engine.close();
    await waitFor(async () => (await api.listMembers('ended'))[0]?.connected === false, 10_000, 'the server saw the drop');
    await api.removeMember('ended', eve.id);
    const again = await server.connect();
    const ack = await request(again, 'join', {
      room: 'ended',
      name: 'eve',
      token: eve.token,
      resume: { peer: eve.id, key: eve.resumeKey },
    });
    assert.equal(errorCode(ack), 'FORBIDDEN');
    assert.equal(await code(api.getRoom('ended')), 'ROOM_NOT_FOUND');
  });

  it("a resume key works only with its own identity's token; API grants survive a new connection", async () => {
    const ann = await join('grants-stay', 'ann');
    const { token: other } = await api.mintToken({ room: 'grants-stay', identity: 'mallory' });
    const thief = await server.connect();
    const stolen = data(
      await request<{ self: { id: string } }>(thief, 'join', {
        room: 'grants-stay',
        name: 'm',
        token: other,
        resume: { peer: ann.id, key: ann.resumeKey },
      }),
    );
    assert.notEqual(stolen.self.id, ann.id, 'a fresh session, not ann’s seat');
    await api.updateMember('grants-stay', ann.id, { grants: { chat: false } });
    const tab2 = await server.connect();
    const takeover = data(await request<{ self: { id: string } }>(tab2, 'join', { room: 'grants-stay', name: 'ann', token: ann.token }));
    assert.equal(takeover.self.id, ann.id, 'the same identity takes its seat over');
    assert.equal(errorCode(await request(tab2, 'chat_message', { text: 'hi' })), 'FORBIDDEN', 'the API decision stands');
  });

  it('messages from the server keep the members’ limits and need a room; a room admin cannot mint; meshLimit switches at once', async () => {
    assert.equal(await code(api.sendMessage('nowhere', { kind: 'chat', text: 'x' })), 'ROOM_NOT_FOUND');
    const a = await join('limits', 'a');
    assert.equal(await code(api.sendMessage('limits', { kind: 'event', type: 'big', body: 'x'.repeat(20_000) })), 'PAYLOAD_TOO_LARGE');
    assert.equal(await code(api.sendMessage('limits', { kind: 'event', type: 'bad type!', body: 1 })), 'INVALID_PAYLOAD');
    const { token } = await api.mintToken({ room: 'limits', identity: 'owner', grants: { admin: true } });
    assert.equal(
      await code(createServerClient({ url: server.app.url, bearer: token }).mintToken({ room: 'limits', identity: 'x' })),
      'FORBIDDEN',
    );
    const switched = nextEvent<{ mode: string }>(a.socket, 'sfu_mode');
    await api.updateRoom('limits', { meshLimit: 0 });
    assert.equal((await switched).mode, 'sfu');
  });
});

describe('server API in open mode', () => {
  it('is refused without an adminKey instead of trusting anyone', async () => {
    const server = await startServer();
    try {
      const res = await fetch(`${server.app.url}/api/v1/rooms`);
      assert.equal(res.status, 403);
    } finally {
      await server.close();
    }
  });
});
