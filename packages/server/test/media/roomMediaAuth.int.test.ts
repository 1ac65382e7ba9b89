/**
 * Rooms over WHIP/WHEP with auth on: WHIP needs a token with join + publish for the room or a
 * stream key minted by the server API (typed client); WHEP needs subscribe. A stream key publishes
 * as a member named after the key, and revoking the key removes that member. Unknown keys → 401
 * STREAM_KEY_INVALID. The publishing part needs python3-aiortc (skipped without it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServerClient } from '@parley-rtc/protocol/serverClient';
import { startServer, request, collect, data, type TestServer } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { AiortcClient, aiortcMissing } from './aiortcClient.ts';

const SECRET = 'room-media-auth-secret-0123456789';
const OFFER =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n';
let server: TestServer;

before(async () => {
  server = await startServer({
    auth: { secret: SECRET, apiKeys: { ops: 'ops-secret-0123456789abcdef' } },
    media: { bindAddress: '127.0.0.1' },
    turn: { urls: ['turn:turn.example.test:3478?transport=udp'], secret: 'turn-secret-0123456789abcdef' },
  });
});
after(async () => {
  await server?.close();
  releaseNativeWebRtc();
});

const token = (room: string, grants: Record<string, unknown> = {}) => server.app.tokens.mint({ identity: 'cam', room, grants });
const post = (path: string, bearer?: string) =>
  fetch(`${server.app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: OFFER,
  });
const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

test('WHIP into a room needs publish for that room (or a stream key); WHEP needs subscribe', async () => {
  let res = await post('/whip/rooms/studio');
  assert.deepEqual([res.status, await code(res)], [401, 'UNAUTHORIZED']);
  res = await post('/whip/rooms/studio', token('elsewhere'));
  assert.deepEqual([res.status, await code(res)], [403, 'FORBIDDEN']);
  res = await post('/whip/rooms/studio', token('studio', { publish: false }));
  assert.deepEqual([res.status, await code(res)], [403, 'FORBIDDEN']);
  res = await post('/whip/rooms/studio', 'psk_not-a-key');
  assert.deepEqual([res.status, await code(res)], [401, 'STREAM_KEY_INVALID']);
  res = await post('/whep/rooms/studio');
  assert.deepEqual([res.status, await code(res)], [401, 'UNAUTHORIZED']);
  res = await post('/whep/rooms/studio', token('studio', { subscribe: false }));
  assert.deepEqual([res.status, await code(res)], [403, 'FORBIDDEN']);
  res = await post('/whep/rooms/studio', token('studio'));
  assert.deepEqual([res.status, await code(res)], [404, 'ROOM_NOT_FOUND']);
});

test('stream keys: minted, listed and revoked through the server API; a key of another room is refused', async () => {
  const api = createServerClient({ url: server.app.url, apiKey: 'ops', apiSecret: 'ops-secret-0123456789abcdef' });
  const key = await api.createStreamKey('keyed', { name: 'OBS' });
  assert.match(key.key, /^psk_/);
  assert.equal(key.name, 'OBS');
  assert.deepEqual(
    (await api.listStreamKeys('keyed')).map((k) => [k.id, k.name]),
    [[key.id, 'OBS']],
  );
  const res = await post('/whip/rooms/other-room', key.key);
  assert.deepEqual([res.status, await code(res)], [401, 'STREAM_KEY_INVALID']);
  await api.deleteStreamKey('keyed', key.id);
  assert.deepEqual(await api.listStreamKeys('keyed'), []);
  await assert.rejects(api.deleteStreamKey('keyed', key.id), { code: 'NOT_FOUND' });
  // a room admin's token manages its own room's keys only
  const roomAdmin = createServerClient({ url: server.app.url, bearer: token('keyed', { admin: true }) });
  await roomAdmin.createStreamKey('keyed');
  await assert.rejects(roomAdmin.createStreamKey('other-room'), { code: 'FORBIDDEN' });
});

test(
  'an aiortc encoder publishes with a stream key as a member named after it; revoking the key removes it',
  { skip: aiortcMissing, timeout: 90_000 },
  async () => {
    const api = createServerClient({ url: server.app.url, apiKey: 'ops', apiSecret: 'ops-secret-0123456789abcdef' });
    const key = await api.createStreamKey('show', { name: 'Stage camera' });
    const socket = await server.connect();
    data(await request(socket, 'join', { room: 'show', name: 'host', token: token('show') }));
    const joined = collect<{ id: string; name: string }>(socket, 'peer_joined');
    const left = collect<{ id: string }>(socket, 'peer_left');
    const encoder = new AiortcClient('whip', `${server.app.url}/whip/rooms/show`, ['--token', key.key, '--no-candidates']);
    try {
      assert.equal((await encoder.waitAnswered()).status, 201);
      await waitFor(() => joined.items.length === 1, 10_000, 'the encoder joins');
      assert.equal(joined.items[0]!.name, 'Stage camera');
      const viewer = new AiortcClient('whep', `${server.app.url}/whep/rooms/show/${joined.items[0]!.id}`, ['--token', token('show')]);
      try {
        await viewer.waitStats('a viewer with a subscribe token decodes the encoder', (s) => s.video > 5 && s.audio > 10);
      } finally {
        await viewer.close();
      }
      await api.deleteStreamKey('show', key.id);
      await waitFor(() => left.items.some((l) => l.id === joined.items[0]!.id), 10_000, 'the encoder removed with its key');
    } finally {
      await encoder.close();
    }
  },
);

test('an authorized OPTIONS on the room targets gets Link headers with TURN credentials; an anonymous one none', async () => {
  for (const path of ['/whip/rooms/studio', '/whep/rooms/studio', '/whep/rooms/studio/_someone']) {
    const anonymous = await fetch(`${server.app.url}${path}`, { method: 'OPTIONS' });
    assert.equal(anonymous.status, 204);
    assert.equal(anonymous.headers.get('link'), null, path);
    const authorized = await fetch(`${server.app.url}${path}`, {
      method: 'OPTIONS',
      headers: { authorization: `Bearer ${token('studio')}` },
    });
    assert.equal(authorized.status, 204);
    assert.match(authorized.headers.get('accept-post') ?? '', /application\/sdp/);
    assert.match(
      authorized.headers.get('link') ?? '',
      /<turn:turn\.example\.test:3478\?transport=udp>; rel="ice-server"; username="[^"]+"; credential="[^"]+"/,
      path,
    );
  }
});
