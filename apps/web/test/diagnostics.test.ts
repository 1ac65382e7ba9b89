import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DiagnosticsResponse } from '@parley-rtc/protocol';
import {
  diagnose,
  parseCandidate,
  turnProbes,
  type DiagnosisInput,
  type ProbeResult,
  type RelayProbe,
} from '../src/diagnostics/interpret.ts';

const UDP = 'turn:t.example:3478?transport=udp';
const TCP = 'turn:t.example:3478?transport=tcp';
const TLS = 'turns:t.example:5349?transport=tcp';

function response(turnUrls: string[], stun: string[] = []): DiagnosticsResponse {
  const iceServers = [
    ...(stun.length ? [{ urls: stun }] : []),
    ...(turnUrls.length ? [{ urls: turnUrls, username: '1:u', credential: 'c' }] : []),
  ];
  return {
    serverTime: 0,
    iceServers,
    configured: {
      stun,
      turnUdp: turnUrls.filter((u) => u === UDP),
      turnTcp: turnUrls.filter((u) => u === TCP),
      turns: turnUrls.filter((u) => u === TLS),
    },
    turn: { enabled: turnUrls.length > 0, urlsWithoutSecret: false, ttlSec: 3600 },
    server: { protocolVersion: '2.0', tls: false, openMode: true },
  };
}

const relayed: ProbeResult = {
  candidates: [parseCandidate('candidate:1 1 udp 5 203.0.113.9 50000 typ relay raddr 0.0.0.0 rport 0')],
  errors: [],
  timedOut: false,
};
const nothing: ProbeResult = { candidates: [], errors: [{ url: UDP, code: 701, text: 'unreachable' }], timedOut: false };
const host: ProbeResult = { candidates: [parseCandidate('candidate:2 1 udp 9 192.168.1.5 40000 typ host')], errors: [], timedOut: false };

function input(turnUrls: string[], results: Record<string, ProbeResult>, extra: Partial<DiagnosisInput> = {}): DiagnosisInput {
  const diagnostics = response(turnUrls);
  const relays: RelayProbe[] = turnProbes(diagnostics.iceServers).map((p) => ({
    url: p.url,
    kind: p.kind,
    result: results[p.url] ?? nothing,
  }));
  return { diagnostics, clockSkewMs: 0, all: host, relays, ...extra };
}

const codes = (i: DiagnosisInput) => diagnose(i).advice.map((a) => a.code);

describe('connection check: diagnose()', () => {
  it('parses candidate lines', () => {
    assert.deepEqual(parseCandidate('a=candidate:1 1 TCP 5 10.0.0.1 9 typ srflx tcptype active'), {
      type: 'srflx',
      protocol: 'tcp',
      address: '10.0.0.1',
    });
    assert.equal(parseCandidate('garbage').type, 'unknown');
  });

  it('everything relays: all good', () => {
    const i = input([UDP, TCP, TLS], { [UDP]: relayed, [TCP]: relayed, [TLS]: relayed });
    const d = diagnose(i);
    assert.deepEqual([d.udp.verdict, d.tcp.verdict, d.relay.verdict], ['works', 'works', 'works']);
    assert.deepEqual(codes(i), ['all-good']);
  });

  it('UDP blocked, TCP relay works: calls use TURN over TCP/TLS', () => {
    const i = input([UDP, TCP, TLS], { [TCP]: relayed, [TLS]: relayed });
    const d = diagnose(i);
    assert.deepEqual([d.udp.verdict, d.tcp.verdict, d.relay.verdict], ['blocked', 'works', 'works']);
    assert.ok(codes(i).includes('udp-blocked-tcp-works'));
    assert.ok(!codes(i).includes('all-good'));
  });

  it('nothing reaches the TURN server: says calls will probably fail', () => {
    const i = input([UDP, TCP], {});
    assert.equal(diagnose(i).relay.verdict, 'blocked');
    assert.ok(codes(i).includes('turn-unreachable'));
  });

  it('401 from TURN: credentials refused', () => {
    const refused: ProbeResult = { candidates: [], errors: [{ url: UDP, code: 401, text: 'Unauthorized' }], timedOut: false };
    assert.ok(codes(input([UDP], { [UDP]: refused })).includes('turn-auth-failed'));
  });

  it('UDP TURN only: suggests TCP/TLS URLs', () => {
    const i = input([UDP], { [UDP]: relayed });
    assert.ok(codes(i).includes('no-tcp-turn'));
    assert.equal(diagnose(i).tcp.verdict, 'untested');
  });

  it('no TURN, no STUN: no-turn and no-ice-servers', () => {
    const i = input([], {});
    assert.equal(diagnose(i).relay.verdict, 'untested');
    assert.deepEqual(codes(i), ['no-turn', 'no-ice-servers']);
  });

  it('TURN URLs without a secret are flagged as such', () => {
    const i = input([], {});
    i.diagnostics.turn.urlsWithoutSecret = true;
    assert.ok(codes(i).includes('turn-without-secret') && !codes(i).includes('no-turn'));
  });

  it('clock skew and missing media are reported and spoil "all good"', () => {
    const ok = { [UDP]: relayed, [TCP]: relayed };
    assert.ok(codes(input([UDP, TCP], ok, { clockSkewMs: 10 * 60_000 })).includes('clock-skew'));
    assert.ok(!codes(input([UDP, TCP], ok, { clockSkewMs: 60_000 })).includes('clock-skew'));
    const noMedia = codes(input([UDP, TCP], ok, { media: { ok: false, error: 'NotAllowedError' } }));
    assert.ok(noMedia.includes('media-unavailable') && !noMedia.includes('all-good'));
  });
});
