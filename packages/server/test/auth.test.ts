import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ParleyError } from '@parley-rtc/protocol';
import { SignJWT, jwtVerify } from 'jose';
import { signHs256 } from '../src/auth/hs256.ts';
import { TokenVerifier } from '../src/auth/TokenVerifier.ts';
import { TokenService } from '../src/auth/TokenService.ts';
import { sentMediaKinds } from '../src/auth/sdpMedia.ts';
import { RateLimiter } from '../src/ratelimit/RateLimiter.ts';

const SECRET = 'a-test-secret-of-enough-length';

async function code(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ParleyError, `expected a ParleyError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected the call to throw');
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('HS256 tokens (signed here, verified by jose)', () => {
  const verifier = new TokenVerifier({ secret: SECRET, apiKeys: {} });
  const now = Math.floor(Date.now() / 1000);

  it('matches the RFC 7515 structure: HMAC-SHA256 over header.payload, base64url', async () => {
    const token = signHs256({ sub: 'u', exp: now + 60 }, SECRET);
    const [h, p, s] = token.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
    assert.equal(s, createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url'));
    assert.equal((await jwtVerify(token, new TextEncoder().encode(SECRET))).payload.sub, 'u');
  });

  it('verifies a token produced by another implementation', async () => {
    const other = await new SignJWT({ room: 'r' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1234567890')
      .setExpirationTime(4102444800)
      .sign(new TextEncoder().encode(SECRET));
    assert.deepEqual(await verifier.verify(other), { room: 'r', sub: '1234567890', exp: 4102444800 });
  });

  it('rejects forged, tampered, expired, alg-none, exp-less and malformed tokens with their own codes', async () => {
    const good = signHs256({ sub: 'u', exp: now + 60 }, SECRET);
    assert.equal((await verifier.verify(good)).sub, 'u');
    assert.equal(await code(() => verifier.verify(signHs256({ sub: 'u', exp: now + 60 }, 'another-secret-entirely'))), 'TOKEN_INVALID');
    const [h, , s] = good.split('.');
    assert.equal(await code(() => verifier.verify(`${h}.${b64({ sub: 'admin', exp: now + 60 })}.${s}`)), 'TOKEN_INVALID');
    assert.equal(await code(() => verifier.verify(signHs256({ sub: 'u', exp: now - 3600 }, SECRET))), 'TOKEN_EXPIRED');
    assert.equal((await verifier.verify(signHs256({ sub: 'u', exp: now - 10 }, SECRET))).sub, 'u', 'within the clock tolerance');
    assert.equal(await code(() => verifier.verify(signHs256({ sub: 'u', exp: now + 600, nbf: now + 300 }, SECRET))), 'TOKEN_INVALID');
    assert.equal(await code(() => verifier.verify(signHs256({ sub: 'u' }, SECRET))), 'TOKEN_INVALID');
    assert.equal(await code(() => verifier.verify(`${b64({ alg: 'none' })}.${b64({ exp: 9999999999 })}.`)), 'TOKEN_INVALID');
    assert.equal(await code(() => verifier.verify('not-a-token')), 'TOKEN_INVALID');
    assert.equal(await code(() => verifier.verify('a.b.c')), 'TOKEN_INVALID');
  });
});

describe('TokenService', () => {
  const tokens = new TokenService({ secret: SECRET, apiKeys: { APIkey1: 'api-secret-of-enough-length' }, tokenTtlSec: 600 });

  it('mints tokens whose grants default to an ordinary participant', async () => {
    const p = await tokens.verify(tokens.mint({ identity: 'ada', room: 'standup' }), 'standup');
    assert.equal(p.identity, 'ada');
    assert.deepEqual(p.grants, {
      join: true,
      publish: true,
      subscribe: true,
      chat: true,
      data: true,
      upload: false,
      record: false,
      admin: false,
    });
  });

  it('binds a token to its room unless it is for any room', async () => {
    const t = tokens.mint({ identity: 'ada', room: 'standup' });
    assert.equal(await code(() => tokens.verify(t, 'other')), 'FORBIDDEN');
    const any = tokens.mint({ identity: 'ops', room: '*', grants: { admin: true } });
    assert.equal((await tokens.verify(any, 'whatever')).grants.admin, true);
  });

  it('verifies tokens signed by an API key, named in kid', async () => {
    const t = tokens.mint({ identity: 'bot', room: 'r', grants: { publish: ['audio'] } }, 'APIkey1');
    assert.deepEqual((await tokens.verify(t, 'r')).grants.publish, ['audio']);
    const unknownKid = signHs256({ sub: 'x', room: 'r', exp: 4102444800 }, 'api-secret-of-enough-length', 'nope');
    assert.equal(await code(() => tokens.verify(unknownKid, 'r')), 'TOKEN_INVALID');
    const protoKid = signHs256({ sub: 'x', room: 'r', exp: 4102444800 }, 'api-secret-of-enough-length', '__proto__');
    assert.equal(await code(() => tokens.verify(protoKid, 'r')), 'TOKEN_INVALID');
  });

  it('requires a token unless in open mode', async () => {
    assert.equal(await code(() => tokens.verify(undefined, 'r')), 'UNAUTHORIZED');
    const open = new TokenService({ apiKeys: {}, tokenTtlSec: 60 });
    assert.equal(open.openMode, true);
    assert.equal((await open.verify(undefined, 'r')).grants.admin, true);
    assert.equal(new TokenService({ apiKeys: {}, tokenTtlSec: 60, jwksUrl: 'http://127.0.0.1:9/jwks' }).openMode, false);
  });

  it('rejects a validly signed token with bad claims', async () => {
    const bad = signHs256({ sub: 'x', room: '../../etc', exp: 4102444800 }, SECRET);
    assert.equal(await code(() => tokens.verify(bad, 'r')), 'TOKEN_INVALID');
  });
});

describe('sentMediaKinds', () => {
  it('counts only sending, non-rejected audio/video sections', () => {
    const sdp = [
      'v=0',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=sendrecv',
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=recvonly',
      'm=video 0 UDP/TLS/RTP/SAVPF 96',
      'a=sendonly',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    ].join('\r\n');
    assert.deepEqual([...sentMediaKinds(sdp)], ['audio']);
    assert.deepEqual([...sentMediaKinds('v=0\r\nm=video 9 RTP/SAVPF 96\r\n')], ['video']);
    assert.deepEqual([...sentMediaKinds('v=0\r\nm=application 9 x\r\n')], []);
  });
});

describe('RateLimiter', () => {
  it('allows the burst, refuses past it with a retry delay, and recovers at the rate', async (t) => {
    // rate-limiter-flexible reads Date.now() and expires records with setTimeout: both are faked.
    t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 1_700_000_000_000 });
    const limiter = new RateLimiter({ ratePerSec: 10, burst: 3 });
    const takeAll = (n: number) => Promise.all(Array.from({ length: n }, () => limiter.take('a')));
    try {
      assert.deepEqual(await takeAll(3), [0, 0, 0]);
      assert.equal(await limiter.take('a'), 100);
      assert.equal(await limiter.take('b'), 0, 'keys are independent');
      t.mock.timers.tick(100);
      assert.equal(await limiter.take('a'), 0);
      assert.ok((await limiter.take('a')) > 0);
      t.mock.timers.tick(10_000);
      assert.deepEqual(await takeAll(3), [0, 0, 0]);
    } finally {
      limiter.close();
      limiter.close();
    }
  });

  it('holds the sustained rate near the configured one under constant pressure', async (t) => {
    t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 1_700_000_000_000 });
    const limiter = new RateLimiter({ ratePerSec: 10, burst: 5 });
    try {
      let allowed = 0;
      // 100 tries every 10 ms for 60 s.
      for (let ms = 0; ms < 60_000; ms += 10) {
        if ((await limiter.take('k')) === 0) allowed++;
        t.mock.timers.tick(10);
      }
      assert.ok(allowed >= 600 && allowed <= 660 + 5, `allowed ${allowed} in 60 s at 10/s`);
    } finally {
      limiter.close();
    }
  });

  it('answers in call order for a key, whatever path each take went', async (t) => {
    t.mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 1_700_000_000_000 });
    const limiter = new RateLimiter({ ratePerSec: 10, burst: 4 });
    try {
      const order: string[] = [];
      const first = limiter.take('k').then(() => order.push('steady'));
      const second = limiter.take('k').then(() => order.push('burst'));
      // The second take starts counting, then the steady window turns over before the third: that
      // one takes the shorter path and would overtake the second if takes were not chained per key.
      await Promise.resolve();
      t.mock.timers.tick(100);
      const third = limiter.take('k').then(() => order.push('steady again'));
      await Promise.all([first, second, third]);
      assert.deepEqual(order, ['steady', 'burst', 'steady again']);
    } finally {
      limiter.close();
    }
  });
});
