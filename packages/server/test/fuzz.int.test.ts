import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CLIENT_EVENT_NAMES } from '@parley-rtc/protocol';
import { nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';

/** Fixed seed and bounded runs, so CI is reproducible; override with FUZZ_SEED / FUZZ_RUNS. */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261121);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);

/** Payloads that look almost right: real field names with wrong or extreme values. */
const nearMiss = fc.record(
  {
    room: fc.oneof(fc.string(), fc.constant('fuzz'), fc.constant('../x'), fc.integer()),
    name: fc.oneof(fc.string(), fc.constant('\u0000'), fc.constant('x'.repeat(100))),
    to: fc.oneof(fc.string(), fc.constant(''), fc.integer()),
    text: fc.oneof(fc.string(), fc.constant(''), fc.constant('x'.repeat(5000))),
    type: fc.oneof(fc.constantFrom('offer', 'answer', 'rollback', 'x'), fc.string()),
    description: fc.oneof(fc.object(), fc.record({ type: fc.constantFrom('offer', 'answer'), sdp: fc.string() })),
    candidate: fc.oneof(fc.constant(null), fc.object(), fc.string()),
    body: fc.jsonValue(),
    before: fc.oneof(fc.integer(), fc.double()),
    limit: fc.oneof(fc.integer(), fc.constant(1e9)),
    lastSeq: fc.oneof(fc.integer(), fc.constant(-1)),
    token: fc.string(),
  },
  { requiredKeys: [] },
);
const payload = fc.oneof(fc.anything(), nearMiss, fc.jsonValue());
const eventName = fc.oneof(fc.constantFrom(...CLIENT_EVENT_NAMES), fc.string({ maxLength: 20 }));

describe('fuzzing every signaling event and HTTP endpoint', () => {
  let server: TestServer;
  let fuzzer: TestSocket;
  let alice: TestSocket;
  let bob: TestSocket;
  before(async () => {
    server = await startServer({ rateLimits: { eventsPerSec: 1e6, eventBurst: 1e6, httpPerSec: 1e6, httpBurst: 1e6 } });
    [fuzzer, alice, bob] = await Promise.all([server.connect(), server.connect(), server.connect()]);
    for (const [s, name] of [
      [alice, 'Alice'],
      [bob, 'Bob'],
      [fuzzer, 'Fuzz'],
    ] as const) {
      assert.equal((await request(s, 'join', { room: 'fuzz', name })).ok, true);
    }
  });
  after(async () => {
    await server.close();
  });

  it('answers every random socket payload with an ack, and never disconnects or crashes', async () => {
    await fc.assert(
      fc.asyncProperty(eventName, payload, async (event, body) => {
        if (event === 'leave' || event === 'join') return; // covered below; keeps the fuzzer in the room
        const res = await request(fuzzer, event, body, 5000);
        assert.equal(typeof res.ok, 'boolean');
        if (!res.ok) assert.match(res.error.code, /^[A-Z_]+$/);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // join/leave with random payloads from a separate socket.
    const s = await server.connect();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('join', 'leave'), payload, async (event, body) => {
        const res = await request(s, event, body, 5000);
        assert.equal(typeof res.ok, 'boolean');
      }),
      { seed: SEED, numRuns: Math.ceil(RUNS / 3) },
    );
    assert.equal(fuzzer.connected, true);
  });

  it('a well-behaved client in the same room keeps working', async () => {
    const got = nextEvent<{ text: string }>(bob, 'chat_message');
    const res = await request<{ seq: number }>(alice, 'chat_message', { text: 'still fine' });
    assert.equal(res.ok, true);
    assert.equal((await got).text, 'still fine');
  });

  it('answers random HTTP requests with a status and JSON errors, never a crash', async () => {
    const paths = [
      '/api/tokens',
      '/api/rooms/fuzz/messages',
      '/api/rooms/fuzz/stats',
      '/api/rooms/fuzz/files',
      '/offer',
      '/whep/test',
      '/whip/x',
      '/api/ice-servers',
      '/api/streams',
      '/api/recordings',
      '/readyz',
      '/metrics',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH'),
        fc.string({ maxLength: 40 }),
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        fc.constantFrom('application/json', 'application/sdp', 'text/plain', 'application/octet-stream'),
        async (path, method, query, body, type) => {
          const url = `${server.app.url}${path}?${encodeURIComponent(query)}=${encodeURIComponent(query)}`;
          const res = await fetch(url, {
            method,
            headers: { 'content-type': type },
            ...(method === 'GET' ? {} : { body }),
          });
          const text = await res.text();
          assert.ok(res.status >= 200 && res.status < 500, `${method} ${path} answered ${res.status}: ${text}`);
          if (res.status >= 400 && res.headers.get('content-type')?.includes('json')) {
            assert.match(text, /"code":"[A-Z_]+"/, `${method} ${path}: error body without a code: ${text}`);
          }
        },
      ),
      { seed: SEED, numRuns: Math.ceil(RUNS / 2) },
    );
    assert.equal((await fetch(`${server.app.url}/healthz`)).status, 200);
  });
});
