/**
 * SFU rooms in the web app: five Chromium pages in one room (default `media.sfuMeshMaxPeers` 4, so
 * the fifth join switches the room to the SFU). Every page must decode the four others' video
 * through the SFU and show mode "SFU". The fake camera runs at 320x240@15 to spare the two cores.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumMissing } from '../../../packages/server/test/browser.ts';
import { browserSuite, closeAll, eventually, inboundVideo, join as joinPage, waitForDecoding, withDiagnostics, type JoinOptions } from './harness.ts';

/** Low-resolution camera for every page (CPU: five encoders and twenty decoders on two cores). */
const LOW_RES = `(() => {
  const md = navigator.mediaDevices;
  const original = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => original(c && c.video ? { ...c, video: { ...(typeof c.video === 'object' ? c.video : {}), width: 320, height: 240, frameRate: 15 } } : c);
})();`;

/**
 * Starts an in-page monitor: every 200 ms it reads the inbound video stats and records, per remote
 * peer, the longest time in which no video track of that peer decoded a new frame (the mesh track
 * and the SFU track of a peer count together, so a seamless handover shows no gap).
 */
async function startGapMonitor(page: Page): Promise<void> {
  await page.evaluate(() => {
    const frames = new Map<string, number>();
    const lastProgress = new Map<string, number>();
    const maxGap = new Map<string, number>();
    const w = window as unknown as { __gaps?: () => Record<string, number>; __stopGaps?: () => void };
    const timer = setInterval(() => {
      void window.__parley?.stats().then((stats) => {
        const now = performance.now();
        for (const s of stats) {
          let progressed = false;
          for (const v of s.inboundVideo) {
            if (v.framesDecoded > (frames.get(v.trackIdentifier) ?? 0)) progressed = true;
            frames.set(v.trackIdentifier, v.framesDecoded);
          }
          if (progressed || !lastProgress.has(s.peerId)) lastProgress.set(s.peerId, now);
        }
        for (const [peer, t] of lastProgress) maxGap.set(peer, Math.max(maxGap.get(peer) ?? 0, now - t));
      });
    }, 200);
    w.__gaps = () => Object.fromEntries(maxGap);
    w.__stopGaps = () => clearInterval(timer);
  });
}

async function stopGapMonitor(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const w = window as unknown as { __gaps?: () => Record<string, number>; __stopGaps?: () => void };
    w.__stopGaps?.();
    return w.__gaps?.() ?? {};
  });
}

async function mode(page: Page): Promise<string> {
  return (await page.getByTestId('room-mode').textContent()) ?? '';
}

/** The page's media path as the SDK sees it: mode and how many mesh links are left. */
async function sdkState(page: Page): Promise<{ mode: string; meshLinks: number; peers: number }> {
  return page.evaluate(() => {
    const room = window.__parley?.room;
    if (!room) throw new Error('window.__parley is missing');
    return { mode: room.mode, meshLinks: room.peers.filter((p) => room.peerConnection(p.id) !== undefined).length, peers: room.peers.length };
  });
}

/** Waits until every remote peer's video decodes on `page`, counting by peer (not by track). */
async function decodesFromPeers(page: Page, peers: number, timeoutMs: number): Promise<void> {
  const baseline = new Map((await inboundVideo(page)).map((v) => [v.trackIdentifier, v.framesDecoded]));
  let last = '';
  await eventually(
    async () => {
      const now = await inboundVideo(page);
      last = JSON.stringify(now);
      const growing = new Set(now.filter((v) => v.framesDecoded >= (baseline.get(v.trackIdentifier) ?? 0) + 15).map((v) => v.peerId));
      return growing.size >= peers;
    },
    timeoutMs,
    `video from ${peers} peers decoding`,
    async () => last,
  );
}

describe('web app: SFU rooms in headless Chromium', { skip: chromiumMissing }, () => {
  const suite = browserSuite();
  const pages = suite.pages;
  const all = () => pages;
  const join = (room: string, name: string, options?: JoinOptions) => joinPage(suite.browser, suite.server.app.url, room, name, options);

  it('five participants: the fifth join switches the room to SFU; everyone decodes the other four', () =>
    withDiagnostics(all, async () => {
      for (const name of ['Ada', 'Ben', 'Cy', 'Dee']) pages.push(await join('five', name, { initScript: LOW_RES }));
      for (const p of pages) assert.equal(await mode(p.page), 'mesh', `${p.name} starts in mesh mode`);
      pages.push(await join('five', 'Eve', { initScript: LOW_RES }));

      for (const p of pages) {
        await p.page.locator('[data-testid="room-mode"][data-mode="sfu"]').waitFor({ timeout: 15_000 });
        assert.equal(await mode(p.page), 'SFU');
      }
      for (const p of pages) await decodesFromPeers(p.page, 4, 60_000);
      // The media really comes through the SFU: the mesh links are gone and stay gone.
      for (const p of pages) {
        await eventually(async () => (await sdkState(p.page)).meshLinks === 0, 20_000, `${p.name}: mesh links closed`, async () => JSON.stringify(await sdkState(p.page)));
        assert.deepEqual(await sdkState(p.page), { mode: 'sfu', meshLinks: 0, peers: 4 });
      }
      for (const p of pages) await waitForDecoding(p.page, 4, { growth: 15, timeoutMs: 30_000 });
      const remoteTiles = await pages[0]!.page.locator('[data-testid="tile"][data-local="false"][data-source="camera"] video').count();
      assert.equal(remoteTiles, 4, 'four remote camera tiles with a video element');
      await closeAll(pages.splice(0));
    }));

  it('a meshed room switches to SFU when the fifth joins without anyone losing video for more than a few seconds, and back to mesh when it leaves', () =>
    withDiagnostics(all, async () => {
      for (const name of ['Fay', 'Gus', 'Hal', 'Ivy']) pages.push(await join('switch', name, { initScript: LOW_RES }));
      const early = [...pages];
      for (const p of early) await decodesFromPeers(p.page, 3, 60_000);
      for (const p of early) assert.deepEqual(await sdkState(p.page), { mode: 'mesh', meshLinks: 3, peers: 3 }, `${p.name} is meshed`);
      for (const p of early) await startGapMonitor(p.page);

      pages.push(await join('switch', 'Jo', { initScript: LOW_RES }));
      for (const p of pages) await p.page.locator('[data-testid="room-mode"][data-mode="sfu"]').waitFor({ timeout: 15_000 });
      for (const p of pages) {
        await eventually(async () => (await sdkState(p.page)).meshLinks === 0, 30_000, `${p.name}: mesh links closed`, async () => JSON.stringify(await sdkState(p.page)));
      }
      // Keep watching for a while after the handover: video keeps decoding through the SFU.
      for (const p of pages) await decodesFromPeers(p.page, 4, 60_000);
      for (const p of early) {
        const gaps = await stopGapMonitor(p.page);
        const others = early.filter((o) => o !== p).length;
        assert.ok(Object.keys(gaps).length >= others, `${p.name} watched ${others} peers: ${JSON.stringify(gaps)}`);
        const worst = Math.max(...Object.values(gaps));
        assert.ok(worst < 4000, `${p.name}: longest video gap ${Math.round(worst)} ms ${JSON.stringify(gaps)}`);
        console.log(`${p.name}: longest video gap during the switch ${Math.round(worst)} ms`);
      }

      // The fifth leaves: the room is back at four, mesh again, and video flows over the links.
      // (a polite leave: a dropped socket would keep its seat for the session-resume grace)
      const jo = pages.pop();
      await jo?.page.getByTestId('leave-button').click();
      await jo?.context.close();
      for (const p of pages) await p.page.locator('[data-testid="room-mode"][data-mode="mesh"]').waitFor({ timeout: 15_000 });
      for (const p of pages) {
        await eventually(async () => (await sdkState(p.page)).meshLinks === 3, 30_000, `${p.name}: mesh links back`, async () => JSON.stringify(await sdkState(p.page)));
      }
      // The SFU connections close once every link is up: only the links' tracks remain (audio + video × 3).
      const remoteTracks = (page: Page) => page.evaluate(() => window.__parley?.room.remoteTracks.length ?? -1);
      for (const p of pages) await eventually(async () => (await remoteTracks(p.page)) === 6, 30_000, `${p.name}: SFU tracks gone`, async () => String(await remoteTracks(p.page)));
      for (const p of pages) await decodesFromPeers(p.page, 3, 60_000);
      for (const p of pages) assert.deepEqual(await sdkState(p.page), { mode: 'mesh', meshLinks: 3, peers: 3 });
    }));
});
