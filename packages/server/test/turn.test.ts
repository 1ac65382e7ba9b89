import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mintTurnCredential } from '../src/ice/turnCredentials.ts';
import { cappedTtl, IceServerProvider } from '../src/ice/IceServerProvider.ts';
import { toLibdatachannelServers } from '@parley-rtc/rtc/iceServers';
import { COTURN_CONFIG } from '../src/ice/coturn.ts';
import { parseConfig } from '../src/config.ts';

describe('TURN REST credentials', () => {
  it('match known vectors (HMAC-SHA1, base64) in coturn’s use-auth-secret scheme', () => {
    // Computed independently: printf '1700003600:alice' | openssl dgst -sha1 -hmac 'north' -binary | base64
    const c = mintTurnCredential('north', 'alice', 3600, 1_700_000_000);
    assert.equal(c.username, '1700003600:alice');
    assert.equal(c.credential, 'wjwSXO2ch1B6VaLTLMy2Avn5O9o=');
    assert.equal(c.expiresAt, 1_700_003_600);
  });

  it('hands each peer its own TURN entry and never a static password', () => {
    const ice = new IceServerProvider({
      stunUrls: ['stun:turn.example.com:3478'],
      turn: {
        urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'],
        secret: 's'.repeat(16),
        ttlSec: 600,
      },
      iceServers: [],
    });
    const [stun, turn] = ice.forPeer('p1');
    assert.deepEqual(stun, { urls: ['stun:turn.example.com:3478'] });
    assert.match(turn!.username!, /^\d+:p1$/);
    assert.notEqual(turn!.credential, 's'.repeat(16));
    assert.notEqual(ice.forPeer('p2')[1]!.username, turn!.username);
    assert.equal(ice.linkHeaders('p1').length, 3);
    assert.match(
      ice.linkHeaders('p1')[1]!,
      /^<turn:turn\.example\.com:3478\?transport=udp>; rel="ice-server"; username="\d+:p1"; credential="[^"]+"; credential-type="password"$/,
    );
    assert.throws(
      () => parseConfig({ iceServers: [{ urls: 'turn:x:3478', username: 'u', credential: 'static' }] }),
      /must not carry static credentials/,
    );
  });

  it('caps the credential lifetime at the token expiry and leaves TURN out once the token expired', () => {
    const ice = new IceServerProvider({
      stunUrls: [],
      turn: { urls: ['turn:turn.example.com:3478'], secret: 's'.repeat(16), ttlSec: 3600 },
      iceServers: [],
    });
    const now = 1_700_000_000;
    assert.equal(cappedTtl(3600, undefined, now), 3600, 'open mode: the configured TTL');
    assert.equal(cappedTtl(3600, now + 60, now), 60, 'a token ending sooner wins');
    assert.equal(cappedTtl(60, now + 3600, now), 60, 'a TTL ending sooner wins');
    const capped = ice.forMember('p1', now + 90, now);
    assert.equal(capped.expiresAt, now + 90);
    assert.equal(capped.iceServers[0]!.username, `${now + 90}:p1`);
    const open = ice.forMember('p1', undefined, now);
    assert.equal(open.expiresAt, now + 3600);
    const expired = ice.forMember('p1', now - 1, now);
    assert.deepEqual(expired, { iceServers: [], expiresAt: undefined });
  });

  it('converts ICE servers to node-datachannel objects (usernames may contain ":")', () => {
    const out = toLibdatachannelServers([
      {
        urls: ['stun:127.0.0.1:3478', 'turn:127.0.0.1:3478?transport=tcp', 'turns:[::1]:5349?transport=tcp'],
        username: '1:p',
        credential: 'c=',
      },
    ]);
    assert.deepEqual(out, [
      { hostname: '127.0.0.1', port: 3478 },
      { hostname: '127.0.0.1', port: 3478, username: '1:p', password: 'c=', relayType: 'TurnTcp' },
      { hostname: '::1', port: 5349, username: '1:p', password: 'c=', relayType: 'TurnTls' },
    ]);
  });

  it('the shipped coturn config uses short-lived credentials and denies private ranges', () => {
    const conf = readFileSync(COTURN_CONFIG, 'utf8');
    assert.match(conf, /^use-auth-secret$/m);
    assert.doesNotMatch(conf, /^static-auth-secret=/m, 'the secret comes from the command line, not the repo');
    for (const range of [
      '10.0.0.0-10.255.255.255',
      '172.16.0.0-172.31.255.255',
      '192.168.0.0-192.168.255.255',
      '127.0.0.0-127.255.255.255',
    ]) {
      assert.match(conf, new RegExp(`^denied-peer-ip=${range.replace(/\./g, '\\.')}$`, 'm'));
    }
  });
});
