/**
 * The server event map: every event in `ServerToClientEvents` has a payload schema (the `satisfies`
 * in events.ts checks that at compile time, this at run time), payloads survive the JSON a Socket.IO
 * frame carries, and every event name in both directions follows the wire naming convention.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import {
  CLIENT_EVENT_NAMES,
  SERVER_EVENT_NAMES,
  SERVER_EVENT_SCHEMAS,
  type ServerEventName,
  type ServerEventPayload,
} from '../src/index.ts';

const from = { id: '_a', name: 'Ada' };

/** A valid payload and some malformed ones for a few server events. */
const FIXTURES: { [K in ServerEventName]?: { valid: ServerEventPayload<K>; invalid: unknown[] } } = {
  peer_joined: { valid: { id: '_a', name: 'Ada' }, invalid: [null, { id: '_a' }, { id: '', name: 'Ada' }] },
  peer_left: { valid: { id: '_a' }, invalid: [{}, { id: 5 }] },
  session_ended: {
    valid: { reason: 'kicked', message: 'removed by an admin' },
    invalid: [{ reason: 'bored', message: 'x' }, { reason: 'kicked' }],
  },
  room_event: {
    valid: { seq: 3, ts: 1, from, kind: 'event', type: 'poll', body: { options: ['a', 'b'], open: true } },
    invalid: [{ seq: 3, ts: 1, from, kind: 'chat', text: 'chat goes in chat_message' }],
  },
  mute_request: { valid: { kind: 'video', by: 'server' }, invalid: [{ kind: 'smell', by: 'server' }] },
  sfu_mode: { valid: { mode: 'sfu', meshMaxPeers: 4, peers: 5 }, invalid: [{ mode: 'p2p', meshMaxPeers: 4, peers: 5 }] },
};

/** What a Socket.IO frame does to a payload. */
const overTheWire = (payload: unknown): unknown => JSON.parse(JSON.stringify(payload));

describe('server event schemas', () => {
  it('every server event has a schema', () => {
    assert.ok(SERVER_EVENT_NAMES.length >= 15, SERVER_EVENT_NAMES.join(', '));
    for (const name of SERVER_EVENT_NAMES) assert.ok(SERVER_EVENT_SCHEMAS[name] instanceof z.ZodType, name);
  });

  it('payloads round-trip through JSON and malformed ones are refused', () => {
    for (const [name, fixture] of Object.entries(FIXTURES)) {
      const schema = SERVER_EVENT_SCHEMAS[name as ServerEventName];
      assert.deepEqual(schema.parse(overTheWire(fixture.valid)), fixture.valid, name);
      for (const bad of fixture.invalid) assert.equal(schema.safeParse(overTheWire(bad)).success, false, `${name}: ${JSON.stringify(bad)}`);
    }
  });

  it('drops keys the protocol does not know', () => {
    const parsed = SERVER_EVENT_SCHEMAS.peer_left.parse({ id: '_a', extra: 'x' });
    assert.deepEqual(parsed, { id: '_a' });
  });
});

describe('wire event names', () => {
  it('are snake_case in both directions', () => {
    for (const name of [...CLIENT_EVENT_NAMES, ...SERVER_EVENT_NAMES]) assert.match(name, /^[a-z]+(_[a-z]+)*$/);
  });

  it('are all documented in docs/protocol.md', () => {
    const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
    const [clientPart, serverPart] = doc.split('## Server → client');
    assert.ok(clientPart && serverPart, 'docs/protocol.md has a "Server → client" section');
    for (const name of CLIENT_EVENT_NAMES) assert.match(clientPart, new RegExp(`^\\| \`${name}\` \\|`, 'm'), `client event ${name}`);
    for (const name of SERVER_EVENT_NAMES)
      assert.match(serverPart, new RegExp(`^\\| (\`[a-z_]+\`, )*\`${name}\``, 'm'), `server event ${name}`);
  });
});
