/**
 * A screen share in an SFU room: it is published on a connection of its own (source `screen`), the
 * other page shows it as a screen tile whose video decodes, and stopping the share closes that
 * producer so the tile disappears. The server uses `sfuMeshMaxPeers: 1`, so two pages are already
 * an SFU room.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { browserSuite, inboundVideo, tiles, waitForDecoding, withDiagnostics } from './harness.ts';
import { waitFor } from '@parley-rtc/test-support/poll';

const selfId = (page: Page): Promise<string> => page.evaluate(() => window.__parley?.room.self?.id ?? '');

/** The slots `page` publishes through the SFU. */
const publishedSlots = (page: Page): Promise<string[]> =>
  page.evaluate(async () => (await (window.__parley?.room.publishStats() ?? Promise.resolve([]))).map((s) => s.slot));

/** Frames decoded so far from `peerId`'s screen share on `page` (0 while there is none). */
async function screenFrames(page: Page, peerId: string): Promise<number> {
  const screenTrackIds = await page.evaluate(
    (id) =>
      window.__parley?.room.remoteTracks
        .filter((t) => t.peerId === id && t.source === 'screen' && t.track.kind === 'video')
        .map((t) => t.track.id) ?? [],
    peerId,
  );
  return (await inboundVideo(page)).filter((v) => screenTrackIds.includes(v.trackIdentifier)).reduce((n, v) => n + v.framesDecoded, 0);
}

describe('web app: screen sharing in an SFU room', { skip: chromiumMissing }, () => {
  const suite = browserSuite({ config: { media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 1 } } });
  const pages = suite.pages;

  it('a screen share reaches the other page as a decoding screen tile, and its tile goes when it stops', () =>
    withDiagnostics(
      () => pages,
      async () => {
        const ann = await suite.join('screens', 'Ann');
        const ben = await suite.join('screens', 'Ben');
        for (const p of pages) await p.page.locator('[data-testid="room-mode"][data-mode="sfu"]').waitFor({ timeout: 15_000 });
        // Cameras first: Ben receives Ann's camera through the SFU.
        await waitForDecoding(ben.page, 1, { growth: 10, timeoutMs: 30_000 });
        const annId = await selfId(ann.page);
        const screenTile = ben.page.locator(`[data-testid="tile"][data-source="screen"][data-local="false"][data-peer-id="${annId}"]`);
        assert.equal(await screenTile.count(), 0);

        await ann.page.getByTestId('toggle-screen').click();
        await ann.page.locator('[data-testid="tile"][data-source="screen"][data-local="true"]').waitFor({ timeout: 10_000 });
        await waitFor(
          async () => (await publishedSlots(ann.page)).includes('screen'),
          15_000,
          'Ann publishing her screen',
          async () => JSON.stringify(await publishedSlots(ann.page)),
        );
        // Ben: a screen tile (not a second camera) whose video decodes.
        await screenTile.waitFor({ timeout: 20_000 });
        await waitFor(
          async () => (await screenFrames(ben.page, annId)) >= 10,
          30_000,
          "Ann's screen decoding at Ben",
          async () => JSON.stringify({ frames: await screenFrames(ben.page, annId), tiles: await tiles(ben.page) }),
        );
        const cameraTiles = ben.page.locator(`[data-testid="tile"][data-source="camera"][data-peer-id="${annId}"]`);
        assert.equal(await cameraTiles.count(), 1, 'Ann still has one camera tile');

        await ann.page.getByTestId('toggle-screen').click();
        await screenTile.waitFor({ state: 'detached', timeout: 15_000 });
        await waitFor(async () => !(await publishedSlots(ann.page)).includes('screen'), 10_000, 'Ann to stop publishing her screen');
        // The camera keeps flowing.
        await waitForDecoding(ben.page, 1, { growth: 10, timeoutMs: 20_000 });
        assert.equal(await cameraTiles.count(), 1);
      },
    ));
});
