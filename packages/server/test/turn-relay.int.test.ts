import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PeerConnection, type DataChannel } from 'node-datachannel';
import { IceServerProvider } from '../src/ice/IceServerProvider.ts';
import { toLibdatachannelServers } from '@parley-rtc/rtc/iceServers';
import { mintTurnCredential } from '../src/ice/turnCredentials.ts';
import { coturnMissing, startCoturn } from '@parley-rtc/test-support/coturn';

const SECRET = 'coturn-test-secret-0123456789';

type Turn = Awaited<ReturnType<typeof startCoturn>>;

function relayPeer(name: string, servers: ReturnType<typeof toLibdatachannelServers>): PeerConnection {
  // libjuice applies the relay policy only to the candidates it advertises: it still sends checks
  // from its host socket, and coturn (TURN permissions are per IP) forwards those when host and
  // relay share 127.0.0.1, so about 1 run in 4 selected a host/prflx pair. On 127.0.0.2 (coturn
  // relays on 127.0.0.1) the only path is through the allocations.
  return new PeerConnection(name, { iceServers: servers, iceTransportPolicy: 'relay', bindAddress: '127.0.0.2' });
}

/** Gathers candidates for a peer that only may use relays; resolves with their types. */
function gatherRelayCandidates(pc: PeerConnection, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const types: string[] = [];
    const timer = setTimeout(() => reject(new Error(`gathering did not complete in ${timeoutMs} ms`)), timeoutMs);
    pc.onLocalCandidate((candidate) => types.push(/ typ (\w+)/.exec(candidate)?.[1] ?? '?'));
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') {
        clearTimeout(timer);
        resolve(types);
      }
    });
    pc.createDataChannel('probe');
  });
}

describe('TURN relay through coturn', { skip: coturnMissing }, () => {
  let turn: Turn;
  let ice: IceServerProvider;
  before(async () => {
    turn = await startCoturn(SECRET);
    ice = new IceServerProvider({
      stunUrls: [],
      turn: { urls: [`turn:127.0.0.1:${turn.port}?transport=udp`], secret: SECRET, ttlSec: 300 },
      iceServers: [],
    });
  });
  after(async () => {
    await turn?.close();
  });

  it('two peers with iceTransportPolicy relay exchange data through TURN', async () => {
    const a = relayPeer('a', toLibdatachannelServers(ice.forPeer('a')));
    const b = relayPeer('b', toLibdatachannelServers(ice.forPeer('b')));
    const channels: DataChannel[] = [];
    try {
      const candidates = { a: [] as string[], b: [] as string[] };
      a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type));
      b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type));
      a.onLocalCandidate((c, mid) => {
        candidates.a.push(c);
        b.addRemoteCandidate(c, mid);
      });
      b.onLocalCandidate((c, mid) => {
        candidates.b.push(c);
        a.addRemoteCandidate(c, mid);
      });
      const received = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message through TURN within 15 s')), 15_000);
        b.onDataChannel((dc) => {
          channels.push(dc);
          dc.onMessage((msg) => {
            clearTimeout(timer);
            resolve(typeof msg === 'string' ? msg : Buffer.from(msg as ArrayBuffer).toString());
          });
        });
      });
      const dc = a.createDataChannel('chat');
      channels.push(dc);
      dc.onOpen(() => dc.sendMessage('hello through the relay'));
      assert.equal(await received, 'hello through the relay');
      // Only relay candidates were signaled, so the only paths between the peers run through coturn.
      for (const list of [candidates.a, candidates.b]) {
        assert.ok(list.length > 0 && list.every((c) => / typ relay /.test(c)), list.join('\n'));
      }
      const pair = a.getSelectedCandidatePair();
      assert.equal(pair?.remote.port !== undefined && pair.remote.address, '127.0.0.1');
      assert.ok(
        candidates.b.some((c) => c.includes(` ${pair?.remote.port} typ relay`)),
        `selected ${JSON.stringify(pair)}`,
      );
    } finally {
      for (const dc of channels) dc.close();
      a.close();
      b.close();
    }
  });

  it('refuses forged and expired credentials (no relay candidate is allocated)', async () => {
    const forged = { urls: [`turn:127.0.0.1:${turn.port}?transport=udp`], ...mintTurnCredential('a-different-secret-entirely', 'x', 300) };
    const expired = { urls: forged.urls, ...mintTurnCredential(SECRET, 'x', 60, Math.floor(Date.now() / 1000) - 3600) };
    const good = { urls: forged.urls, ...mintTurnCredential(SECRET, 'x', 300) };
    for (const [label, server, expectRelay] of [
      ['forged', forged, false],
      ['expired', expired, false],
      ['valid', good, true],
    ] as const) {
      const pc = relayPeer(label, toLibdatachannelServers([server]));
      try {
        const types = await gatherRelayCandidates(pc, 15_000);
        assert.equal(types.includes('relay'), expectRelay, `${label}: candidates ${types.join(',')}`);
      } finally {
        pc.close();
      }
    }
    assert.match(turn.output(), /401|Unauthorized|check_stun_auth|cannot find credentials/i);
  });
});
