import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import type { RecordingState } from '@parley-rtc/protocol';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { InertPeerConnection } from '@parley-rtc/test-support/inertPeerConnection';
import { ParleyError, Room } from '../src/index.ts';

/**
 * The Room's recording control against a real server: a member with the `record` grant starts and
 * stops the room's recording, every member hears `recording` (and one that joins later gets the
 * state on join), a member without the grant gets FORBIDDEN. Node has no WebRTC: the peer
 * connections are inert and nobody publishes (so nothing gets composed).
 */
const createPeerConnection = () => new InertPeerConnection() as unknown as RTCPeerConnection;
const API_KEY = 'backend';
const API_SECRET = 'recording-secret-0123456789';

function next(room: Room, timeoutMs = 5000): Promise<RecordingState> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no recording event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = room.on('recording', (state) => {
      clearTimeout(timer);
      off();
      resolve(state);
    });
  });
}

describe('Room: recording', () => {
  let server: TestServer;
  let api: ServerClient;
  const rooms: Room[] = [];
  before(async () => {
    server = await startServer({ auth: { apiKeys: { [API_KEY]: API_SECRET } }, media: { bindAddress: '127.0.0.1' } });
    api = createServerClient({ url: server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
  });
  after(async () => {
    for (const r of rooms) r.close();
    await server.close();
  });

  /** `recorded`: the room is being recorded, so the join brings a `recording` event. */
  async function joined(name: string, record: boolean, recorded = false): Promise<Room> {
    const { token } = await api.mintToken({ room: 'rec', identity: name, name, grants: { record } });
    const room = new Room({ createPeerConnection, ackTimeoutMs: 3000 });
    rooms.push(room);
    const heard = recorded ? next(room) : undefined;
    await room.connect(server.app.url, { room: 'rec', name, token });
    await heard;
    return room;
  }

  it('start and stop with the grant; everyone hears it; FORBIDDEN without', async () => {
    const ada = await joined('ada', true);
    const bo = await joined('bo', false);
    assert.equal(ada.recording.state.recording, false);
    const boHears = next(bo);
    const started = await ada.recording.start();
    assert.equal(started.recording, true);
    assert.ok(started.id);
    assert.deepEqual(await boHears, started);
    assert.deepEqual(bo.recording.state, started);
    await assert.rejects(bo.recording.stop(), (err: unknown) => err instanceof ParleyError && err.code === 'FORBIDDEN');
    const cy = await joined('cy', false, true);
    assert.equal(cy.recording.state.recording, true, 'a member who joins later gets the state on join');
    const stopped = next(bo);
    assert.equal((await ada.recording.stop()).recording, false);
    assert.equal((await stopped).recording, false);
    const info = await api.getRecording('rec', started.id);
    assert.equal(info.startedBy, 'member');
    assert.equal(info.state, 'empty', 'nobody published: nothing to compose');
  });
});
