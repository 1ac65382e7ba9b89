import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ParleyError } from '@parley-rtc/protocol';
import { signJwt, verifyJwt } from '../src/auth/jwt.ts';
import { TokenService } from '../src/auth/TokenService.ts';
import { sentMediaKinds } from '../src/auth/sdpMedia.ts';
import { RateLimiter } from '../src/ratelimit/RateLimiter.ts';

const SECRET = 'a-test-secret-of-enough-length';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ParleyError, `expected a ParleyError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected the call to throw');
}

describe('HS256 JWT', () => {
  it('matches the RFC 7515 structure: HMAC-SHA256 over header.payload, base64url', () => {
    const token = signJwt({ sub: 'u', exp: 2_000_000_000 }, SECRET);
    const [h, p, s] = token.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
    const expected = createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url');
    assert.equal(s, expected);
  });

  it('verifies a known token produced by another implementation', () => {
    // Built by hand: header {"alg":"HS256","typ":"JWT"}, payload {"sub":"1234567890","exp":4102444800}, key "secret".
    const header = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9';
    const payload = Buffer.from('{"sub":"1234567890","exp":4102444800}').toString('base64url');
    const sig = createHmac('sha256', 'secret').update(`${header}.${payload}`).digest('base64url');
    assert.deepEqual(verifyJwt(`${header}.${payload}.${sig}`, 'secret'), { sub: '1234567890', exp: 4102444800 });
  });

  it('rejects forged, tampered, expired, alg-none and malformed tokens with their own codes', () => {
    const now = 1_700_000_000;
    const good = signJwt({ sub: 'u', exp: now + 60 }, SECRET);
    assert.equal(verifyJwt(good, SECRET, now)['sub'], 'u');
    assert.equal(code(() => verifyJwt(good, 'another-secret-entirely', now)), 'TOKEN_INVALID');
    const [h, , s] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', exp: now + 60 })).toString('base64url')}.${s}`;
    assert.equal(code(() => verifyJwt(tampered, SECRET, now)), 'TOKEN_INVALID');
    assert.equal(code(() => verifyJwt(signJwt({ sub: 'u', exp: now - 3600 }, SECRET), SECRET, now)), 'TOKEN_EXPIRED');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"exp":9999999999}').toString('base64url')}.`;
    assert.equal(code(() => verifyJwt(none, SECRET, now)), 'TOKEN_INVALID');
    assert.equal(code(() => verifyJwt('not-a-token', SECRET, now)), 'TOKEN_INVALID');
    assert.equal(code(() => verifyJwt('a.b.c', SECRET, now)), 'TOKEN_INVALID');
  });
});

describe('TokenService', () => {
  const tokens = new TokenService({ secret: SECRET, apiKeys: { APIkey1: 'api-secret-of-enough-length' }, tokenTtlSec: 600 });

  it('mints tokens whose grants default to an ordinary participant', () => {
    const p = tokens.verify(tokens.mint({ identity: 'ada', room: 'standup' }), 'standup');
    assert.equal(p.identity, 'ada');
    assert.deepEqual(p.grants, { join: true, publish: true, subscribe: true, chat: true, upload: false, record: false, admin: false });
  });

  it('binds a token to its room unless it is for any room', () => {
    const t = tokens.mint({ identity: 'ada', room: 'standup' });
    assert.equal(code(() => tokens.verify(t, 'other')), 'FORBIDDEN');
    const any = tokens.mint({ identity: 'ops', room: '*', grants: { admin: true } });
    assert.equal(tokens.verify(any, 'whatever').grants.admin, true);
  });

  it('verifies tokens signed by an API key, named in kid', () => {
    const t = tokens.mint({ identity: 'bot', room: 'r', grants: { publish: ['audio'] } }, 'APIkey1');
    assert.deepEqual(tokens.verify(t, 'r').grants.publish, ['audio']);
    const unknownKid = signJwt({ sub: 'x', room: 'r', exp: 4102444800 }, 'api-secret-of-enough-length', 'nope');
    assert.equal(code(() => tokens.verify(unknownKid, 'r')), 'TOKEN_INVALID');
  });

  it('requires a token unless in open mode', () => {
    assert.equal(code(() => tokens.verify(undefined, 'r')), 'UNAUTHORIZED');
    const open = new TokenService({ apiKeys: {}, tokenTtlSec: 60 });
    assert.equal(open.openMode, true);
    assert.equal(open.verify(undefined, 'r').grants.admin, true);
  });

  it('rejects a validly signed token with bad claims', () => {
    const bad = signJwt({ sub: 'x', room: '../../etc', exp: 4102444800 }, SECRET);
    assert.equal(code(() => tokens.verify(bad, 'r')), 'TOKEN_INVALID');
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
  it('allows the burst, refuses past it with a retry delay, and recovers at the rate', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSec: 10, burst: 3 }, () => now);
    try {
      assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0]);
      assert.equal(limiter.take('a'), 100);
      assert.equal(limiter.take('b'), 0, 'keys are independent');
      now += 100;
      assert.equal(limiter.take('a'), 0);
      assert.ok(limiter.take('a') > 0);
      now += 10_000;
      assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0]);
    } finally {
      limiter.close();
      limiter.close();
    }
  });
});
