import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENT_EVENT_SCHEMAS,
  ERROR_CATALOGUE,
  ERROR_CODES,
  ParleyError,
  ackSchema,
  joinResultSchema,
  logEntrySchema,
  type ClientEventName,
} from '../src/index.ts';

/** Valid and invalid fixtures for every client event. */
const FIXTURES: { [K in ClientEventName]: { valid: unknown[]; invalid: unknown[] } } = {
  join: {
    valid: [
      { room: 'standup', name: 'Ada' },
      { room: 'a.b-c_d', name: '  Ada Lovelace  ', token: 'x.y.z', lastSeq: 42, protocol: '2.0' },
      { room: 'r'.repeat(64), name: 'é🙂' },
    ],
    invalid: [
      null,
      'standup',
      {},
      { room: '', name: 'a' },
      { room: '../etc', name: 'a' },
      { room: '-lead', name: 'a' },
      { room: 'r'.repeat(65), name: 'a' },
      { room: 'ok', name: '' },
      { room: 'ok', name: '   ' },
      { room: 'ok', name: 'a\u0000b' },
      { room: 'ok', name: 'x'.repeat(65) },
      { room: 'ok', name: 'a', lastSeq: -1 },
      { room: 'ok', name: 'a', lastSeq: 1.5 },
    ],
  },
  leave: { valid: [{}, { room: 'x' }], invalid: [null, []] },
  offer: {
    valid: [{ to: 'abc', description: { type: 'offer', sdp: 'v=0' } }],
    invalid: [
      { to: 'abc', description: { type: 'answer', sdp: 'v=0' } },
      { to: '', description: { type: 'offer', sdp: 'v=0' } },
      { to: 'abc', description: { type: 'offer', sdp: 'x'.repeat(70_000) } },
    ],
  },
  answer: {
    valid: [{ to: 'abc', description: { type: 'answer', sdp: 'v=0' } }],
    invalid: [
      { to: 'abc', description: { type: 'offer' } },
      { to: 5, description: { type: 'answer' } },
    ],
  },
  candidate: {
    valid: [
      { to: 'abc', candidate: null },
      { to: 'abc', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
    ],
    invalid: [{ to: 'abc' }, { to: 'abc', candidate: { candidate: 5 } }, { to: 'abc', candidate: { candidate: 'c', sdpMLineIndex: -1 } }],
  },
  chat_message: {
    valid: [{ text: 'hello' }, { text: 'x'.repeat(4000) }],
    invalid: [{ text: '' }, { text: '   ' }, { text: 'x'.repeat(4001) }, { text: 5 }],
  },
  room_event: {
    valid: [
      { type: 'cursor.move', body: { x: 1, y: 2 } },
      { type: 'a', body: null },
      { type: 'list', body: [1, 'two'] },
    ],
    invalid: [
      { type: '', body: 1 },
      { type: 'has space', body: 1 },
      { type: 'a', body: () => 1 },
      { type: 'a', body: Number.NaN },
    ],
  },
  history: {
    valid: [{}, { before: 10 }, { before: 10, limit: 500 }],
    invalid: [{ limit: 0 }, { limit: 501 }, { before: -1 }, { before: 'x' }],
  },
  room_control: {
    valid: [{ action: 'lock' }, { action: 'set_password', password: 'pw' }, { action: 'set_max_participants', max: 3 }],
    invalid: [
      { action: 'explode' },
      { action: 'set_password' },
      { action: 'set_password', password: '' },
      { action: 'set_max_participants', max: 0 },
    ],
  },
  kick: { valid: [{ peer: 'p1' }, { peer: 'p1', reason: 'spam' }], invalid: [{}, { peer: '' }, { peer: 'p', reason: 'x'.repeat(201) }] },
  mute: { valid: [{ peer: 'p1', kind: 'audio' }], invalid: [{ peer: 'p1' }, { peer: 'p1', kind: 'data' }] },
  sfu_publish: { valid: [{ sdp: 'v=0' }], invalid: [{}, { sdp: '' }, { sdp: 'x'.repeat(64 * 1024 + 1) }] },
  sfu_subscribe: {
    valid: [{ sdp: 'v=0', producerIds: ['p-1'] }],
    invalid: [
      { sdp: 'v=0', producerIds: [] },
      { sdp: 'v=0', producerIds: ['a b'] },
      { sdp: 'v=0', producerIds: Array(17).fill('p') },
      { sdp: 'v=0', producerIds: 'p-1' },
    ],
  },
  sfu_data: { valid: [{ sdp: 'v=0\r\n' }], invalid: [{}, { sdp: '' }, { sdp: 5 }] },
  sfu_close: { valid: [{ connectionId: 'sub-1' }], invalid: [{}, { connectionId: '' }, { connectionId: '../x' }] },
  media_state: {
    valid: [{ audio: true, video: false, screen: false }],
    invalid: [
      { audio: true, video: false },
      { audio: 'yes', video: false, screen: false },
    ],
  },
  sfu_video_size: {
    valid: [
      { consumerIds: ['c-1'], width: 640, height: 360 },
      { consumerIds: ['c-1'], width: 0, height: 0 },
    ],
    invalid: [
      { consumerIds: [], width: 1, height: 1 },
      { consumerIds: ['c-1'], width: -1, height: 1 },
      { consumerIds: ['c-1'], width: 1.5, height: 1 },
      { consumerIds: ['c-1'] },
    ],
  },
  sfu_pause: {
    valid: [
      { consumerIds: ['c-1'], paused: true },
      { consumerIds: ['c-1', 'c-2'], paused: false },
    ],
    invalid: [
      { consumerIds: [], paused: true },
      { consumerIds: ['c-1'] },
      { consumerIds: ['../x'], paused: true },
      { consumerIds: ['c-1'], paused: 'yes' },
    ],
  },
  ice_servers: {
    valid: [{}, { token: 'eyJ.a.b' }],
    invalid: [{ token: 42 }, { token: 'x'.repeat(10_000) }, null],
  },
  recording_start: { valid: [{}], invalid: [null, 'x'] },
  recording_stop: { valid: [{}], invalid: [null, 'x'] },
};

describe('client event schemas', () => {
  for (const name of Object.keys(FIXTURES) as ClientEventName[]) {
    const schema = CLIENT_EVENT_SCHEMAS[name];
    it(`${name}: accepts the valid fixtures`, () => {
      for (const v of FIXTURES[name].valid) {
        const res = schema.safeParse(v);
        assert.equal(res.success, true, `${JSON.stringify(v)?.slice(0, 80)}: ${res.error?.message}`);
      }
    });
    it(`${name}: rejects the invalid fixtures`, () => {
      for (const v of FIXTURES[name].invalid) {
        assert.equal(schema.safeParse(v).success, false, `${JSON.stringify(v)?.slice(0, 80)} should be rejected`);
      }
    });
  }

  it('strips unknown fields (a newer client may add optional ones) and never passes `from` through', () => {
    const join = CLIENT_EVENT_SCHEMAS.join.parse({ room: 'ok', name: 'a', extra: true });
    assert.deepEqual(join, { room: 'ok', name: 'a' });
    const offer = CLIENT_EVENT_SCHEMAS.offer.parse({ to: 'abc', from: 'spoof', description: { type: 'offer', sdp: 'v=0' } });
    assert.equal('from' in offer, false);
    assert.deepEqual(CLIENT_EVENT_SCHEMAS.chat_message.parse({ text: 'a', from: 'b' }), { text: 'a' });
    const lock = CLIENT_EVENT_SCHEMAS.room_control.parse({ action: 'lock', extra: 1 });
    assert.deepEqual(lock, { action: 'lock' });
    // Types and sizes stay strict.
    assert.equal(CLIENT_EVENT_SCHEMAS.sfu_publish.safeParse({ sdp: 5, extra: 1 }).success, false);
  });

  it('trims display names', () => {
    const res = CLIENT_EVENT_SCHEMAS.join.parse({ room: 'r', name: '  Ada  ' });
    assert.equal(res.name, 'Ada');
  });
});

describe('server payload schemas', () => {
  it('parses a join ack and rejects a malformed one', () => {
    const schema = ackSchema(joinResultSchema);
    const good = {
      ok: true,
      data: {
        self: { id: 'a', name: 'A' },
        peers: [],
        iceServers: [{ urls: 'turn:x' }],
        lastSeq: 0,
        entries: [],
        truncated: false,
        resumeKey: 'k',
        session: 'a.s',
        resumed: false,
      },
    };
    assert.equal(schema.safeParse(good).success, true);
    assert.equal(schema.safeParse({ ok: false, error: { code: 'ROOM_FULL', message: 'full' } }).success, true);
    assert.equal(schema.safeParse({ ok: false, error: { code: 'NOT_A_CODE', message: 'x' } }).success, false);
    assert.equal(schema.safeParse({ ok: true, data: { self: {} } }).success, false);
  });

  it('log entries are a discriminated union on kind', () => {
    const from = { id: 'p', name: 'P' };
    assert.equal(logEntrySchema.safeParse({ seq: 1, ts: 1, from, kind: 'chat', text: 'x' }).success, true);
    const file = { id: 'f', name: 'a.png', size: 3, type: 'image/png', sha256: 'a'.repeat(64) };
    assert.equal(logEntrySchema.safeParse({ seq: 2, ts: 1, from, kind: 'file', file }).success, true);
    assert.equal(logEntrySchema.safeParse({ seq: 2, ts: 1, from, kind: 'file', file: { ...file, sha256: 'xyz' } }).success, false);
    assert.equal(logEntrySchema.safeParse({ seq: 3, ts: 1, from, kind: 'other' }).success, false);
  });
});

describe('error catalogue', () => {
  it('round-trips a ParleyError through the wire shape', () => {
    const err = new ParleyError('RATE_LIMITED', 'slow down', { retryAfterMs: 1000 });
    const back = ParleyError.fromWire(err.toWire());
    assert.equal(back.code, 'RATE_LIMITED');
    assert.equal(back.message, 'slow down');
    assert.deepEqual(back.details, { retryAfterMs: 1000 });
  });
  it('has a default message for every code', () => {
    for (const [code, message] of Object.entries(ERROR_CODES)) assert.ok(message.length > 10, code);
  });
});

describe('docs/errors.md', () => {
  it('documents every error code', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of Object.keys(ERROR_CODES)) assert.match(doc, new RegExp(`\`${code}\``), `${code} is not documented`);
  });
  it('gives each code the HTTP status the catalogue holds', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      assert.match(doc, new RegExp(`^\\| \`${code}\` \\| ${entry.status} \\|`, 'm'), `${code}: docs/errors.md must say ${entry.status}`);
    }
  });
});
