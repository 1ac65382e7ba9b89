/**
 * SignalClient validates every server event with the protocol's SERVER_EVENT_SCHEMAS before it
 * re-emits it: a real Socket.IO server on port 0 sends well-formed and malformed events.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { waitFor } from '@parley-rtc/test-support/poll';
import { SignalClient } from '../src/internal.ts';

describe('SignalClient inbound validation', () => {
  const http = createServer();
  const io = new Server(http);
  let serverSide: Socket | undefined;
  let client: SignalClient;
  const seen: string[] = [];

  before(async () => {
    io.on('connection', (socket) => (serverSide = socket));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    client = new SignalClient(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { socket: { transports: ['websocket'] } });
    client.on('peerJoined', (p) => seen.push(`peerJoined ${p.id}`));
    client.on('sessionEnded', (m) => seen.push(`sessionEnded ${m.reason}`));
    client.on('roomEvent', (e) => seen.push(`roomEvent ${e.seq}`));
    client.on('invalidMessage', (event) => seen.push(`invalid ${event}`));
    await client.connect(5000);
    await waitFor(() => serverSide !== undefined, 5000, 'the server to see the client');
  });

  after(async () => {
    client.close();
    await io.close();
  });

  it('passes valid events on and reports malformed ones by their wire name', async () => {
    const from = { id: '_b', name: 'Bea' };
    serverSide!.emit('peer_joined', { id: '_a' });
    serverSide!.emit('peer_joined', { id: '_a', name: 'Ada', extra: true });
    serverSide!.emit('room_event', { seq: 1, ts: 1, from, kind: 'chat', text: 'wrong kind' });
    serverSide!.emit('room_event', { seq: 2, ts: 1, from, kind: 'event', type: 'poll', body: null });
    serverSide!.emit('session_ended', { reason: 'bored', message: 'x' });
    serverSide!.emit('session_ended', { reason: 'kicked', message: 'bye' });
    const expected = [
      'invalid peer_joined',
      'peerJoined _a',
      'invalid room_event',
      'roomEvent 2',
      'invalid session_ended',
      'sessionEnded kicked',
    ];
    await waitFor(
      () => seen.length >= expected.length,
      5000,
      'six events',
      () => seen.join(', '),
    );
    assert.deepEqual(seen, expected);
  });

  it('ignores the old 1.x event names', async () => {
    const before = seen.length;
    serverSide!.emit('peer-joined', { id: '_c', name: 'Cy' });
    serverSide!.emit('peer_joined', { id: '_d', name: 'Di' });
    await waitFor(() => seen.length > before, 5000, 'the snake_case event');
    assert.deepEqual(seen.slice(before), ['peerJoined _d']);
  });
});
