/**
 * ICE restart after a real outage: two pages in a call whose RTCPeerConnections may only use
 * relay candidates (an init script forces iceTransportPolicy 'relay'), through a coturn on
 * loopback. The test kills coturn — every path between the pages dies — and starts a new one on
 * the same port. The SDK's watchdog notices the lost connection, calls restartIce(), perfect
 * negotiation renegotiates with fresh candidates from the new coturn, and video decodes again on
 * both pages with the same peer ids (no rejoin).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from '@parley-rtc/test-support/browser';
import { coturnMissing, startCoturn } from '@parley-rtc/test-support/coturn';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { closeAll, ensureWebBuilt, join, waitForDecoding, withDiagnostics, type Participant } from './harness.ts';
import { waitFor } from '@parley-rtc/test-support/poll';

const TURN_SECRET = 'ice-restart-e2e-turn-secret-01234';

/** Forces relay-only ICE and records every peer connection and restartIce() call. */
const RELAY_ONLY = `
(() => {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  window.__relayTest = { pcs, restarts: 0 };
  window.RTCPeerConnection = class extends Native {
    constructor(config, ...rest) {
      super({ ...(config || {}), iceTransportPolicy: 'relay' }, ...rest);
      pcs.push(this);
    }
    restartIce() {
      window.__relayTest.restarts++;
      return super.restartIce();
    }
  };
})();
`;

declare global {
  interface Window {
    __relayTest?: { pcs: RTCPeerConnection[]; restarts: number };
  }
}

const states = (page: Page) =>
  page.evaluate(() => (window.__relayTest?.pcs ?? []).filter((pc) => pc.signalingState !== 'closed').map((pc) => pc.connectionState));
const restarts = (page: Page) => page.evaluate(() => window.__relayTest?.restarts ?? 0);
const remotePeerIds = (page: Page) =>
  page
    .locator('[data-testid="tile"][data-local="false"]')
    .evaluateAll((els) => els.map((el) => el.getAttribute('data-peer-id') ?? '').sort());
const selectedTypes = (page: Page) =>
  page.evaluate(async () => {
    const out: string[] = [];
    for (const pc of window.__relayTest?.pcs ?? []) {
      if (pc.signalingState === 'closed') continue;
      const byId = new Map<string, Record<string, unknown>>();
      (await pc.getStats()).forEach((s: Record<string, unknown>) => byId.set(String(s['id']), s));
      const transport = [...byId.values()].find((s) => s['type'] === 'transport');
      const pair = byId.get(String(transport?.['selectedCandidatePairId']));
      out.push(String(byId.get(String(pair?.['localCandidateId']))?.['candidateType']));
    }
    return out;
  });

describe('web app: ICE restart after the TURN server goes away', { skip: chromiumMissing || coturnMissing }, () => {
  let turn: Awaited<ReturnType<typeof startCoturn>>;
  let server: TestServer;
  let browser: Browser;
  let alice: Participant;
  let bob: Participant;
  const all = () => [alice, bob].filter(Boolean);

  before(async () => {
    ensureWebBuilt();
    turn = await startCoturn(TURN_SECRET);
    server = await startServer({ turn: { urls: [`turn:127.0.0.1:${turn.port}?transport=udp`], secret: TURN_SECRET } });
    browser = await launchChromium();
    alice = await join(browser, server.app.url, 'restart', 'Alice', { initScript: RELAY_ONLY });
    bob = await join(browser, server.app.url, 'restart', 'Bob', { initScript: RELAY_ONLY });
  });
  after(async () => {
    await closeAll(all());
    await browser?.close();
    await server?.close();
    await turn?.close();
  });

  it('media resumes after an ICE restart, without rejoining', () =>
    withDiagnostics(all, async () => {
      await waitForDecoding(alice.page, 1);
      await waitForDecoding(bob.page, 1);
      assert.deepEqual(await selectedTypes(alice.page), ['relay'], 'the call must run over TURN only');
      const idsBefore = { alice: await remotePeerIds(alice.page), bob: await remotePeerIds(bob.page) };
      assert.equal(idsBefore.alice.length, 1);
      const restartsBefore = (await restarts(alice.page)) + (await restarts(bob.page));

      // Outage: the only path between the pages goes away.
      const port = turn.port;
      await turn.close();
      await waitFor(
        async () => (await states(alice.page)).some((s) => s !== 'connected') && (await states(bob.page)).some((s) => s !== 'connected'),
        30_000,
        'both pages to notice the lost connection',
        async () => JSON.stringify({ alice: await states(alice.page), bob: await states(bob.page) }),
      );
      // The TURN server comes back (same address, fresh state: every old allocation is gone).
      turn = await startCoturn(TURN_SECRET, { port });

      await waitFor(
        async () => (await states(alice.page)).every((s) => s === 'connected') && (await states(bob.page)).every((s) => s === 'connected'),
        45_000,
        'both pages to reconnect',
        async () =>
          JSON.stringify({
            alice: await states(alice.page),
            bob: await states(bob.page),
            restarts: [await restarts(alice.page), await restarts(bob.page)],
          }),
      );
      await waitForDecoding(alice.page, 1, { timeoutMs: 30_000 });
      await waitForDecoding(bob.page, 1, { timeoutMs: 30_000 });
      assert.ok((await restarts(alice.page)) + (await restarts(bob.page)) > restartsBefore, 'an ICE restart happened');
      // Same peers, same single connection each: no rejoin, no new RTCPeerConnection.
      assert.deepEqual({ alice: await remotePeerIds(alice.page), bob: await remotePeerIds(bob.page) }, idsBefore);
      assert.equal((await states(alice.page)).length, 1);
      assert.equal((await states(bob.page)).length, 1);
      assert.deepEqual(await selectedTypes(alice.page), ['relay']);
    }));
});
