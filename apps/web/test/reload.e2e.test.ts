/**
 * A page reload during a call: the page joins again by itself (the app remembers the call in
 * sessionStorage) and the SDK takes the seat back with the resume secret it kept there, within
 * the server's resume grace. The member keeps its peer id; the other member (a bot) never sees it
 * leave, rebuilds its link to it, and video flows both ways again.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Bot } from '@parley-rtc/bots';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { waitFor } from '@parley-rtc/test-support/poll';
import { botReceives, joinBot } from './bots.ts';
import { browserSuite, waitForDecoding, withDiagnostics } from './harness.ts';

const selfId = (page: Page): Promise<string> => page.evaluate(() => window.__parley?.room.self?.id ?? '');

describe('web app: a reload resumes the seat', { skip: chromiumMissing }, () => {
  const suite = browserSuite();

  it('comes back with the same peer id; the other member sees no leave and media flows again', async () => {
    const bots: Bot[] = [];
    try {
      await withDiagnostics(
        () => suite.pages,
        async () => {
          const alice = await suite.join('reload-room', 'Alice');
          const bot = await joinBot(suite.server.app.url, 'reload-room', 'Robo');
          bots.push(bot);
          const left: string[] = [];
          bot.on('peerLeft', (p) => left.push(p.id));
          await waitForDecoding(alice.page, 1, { growth: 10 });
          const before = await selfId(alice.page);
          assert.ok(before, 'joined');

          await alice.page.reload();
          // No click: the app joins again by itself.
          await alice.page.getByTestId('call-view').waitFor({ timeout: 20_000 });
          await waitFor(async () => (await selfId(alice.page)) !== '', 10_000, 'the reloaded page joined');
          assert.equal(await selfId(alice.page), before, 'same peer id after the reload');
          await waitForDecoding(alice.page, 1, { growth: 10 }).catch(async (err: unknown) => {
            const state = await alice.page.evaluate(() => {
              const r = window.__parley?.room;
              const pcs = r?.peers.map((p) => {
                const pc = r.peerConnection(p.id);
                return pc
                  ? { ss: pc.signalingState, rd: pc.remoteDescription?.type, ld: pc.localDescription?.type, ice: pc.iceConnectionState }
                  : null;
              });
              return {
                mode: r?.mode,
                state: r?.state,
                peers: r?.peers.map((p) => ({ id: p.id, cs: p.connectionState })),
                tracks: r?.remoteTracks.length,
                pcs,
              };
            });
            console.error('after the reload: page', JSON.stringify(state), 'bot', JSON.stringify(bot.stats()));
            throw err;
          });
          await botReceives(bot, ['Alice'], { frames: 10, timeoutMs: 30_000 });
          assert.deepEqual(left, [], 'the bot never saw Alice leave');
          assert.equal(suite.server.app.signaling.registry.room('reload-room')?.members.size, 2, 'no ghost seat');
        },
      );
    } finally {
      for (const b of bots) b.close();
    }
  });
});
