/**
 * Rooms meet broadcast in the web app: an aiortc WHIP publisher (OBS-like: no candidates in its
 * offer, no PATCH) joins a room as a member, and a Chromium page in that room decodes it through
 * the SFU and shows its tile; the call view's Watch link opens the room's WHEP viewer page, which
 * decodes the room's active speaker. Two pages at most. Skipped without Chromium or python3-aiortc.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumMissing, mediaContext } from '@parley-rtc/test-support/browser';
import { waitFor } from '@parley-rtc/test-support/poll';
import { AiortcClient, aiortcMissing } from '../../../packages/server/test/media/aiortcClient.ts';
import { browserSuite, tiles, waitForDecoding, withDiagnostics } from './harness.ts';

describe('rooms over WHIP and WHEP in the web app', () => {
  const suite = browserSuite();

  it(
    'a page decodes a WHIP publisher in its room, and the Watch link plays the room',
    { skip: chromiumMissing || aiortcMissing, timeout: 180_000 },
    async () => {
      await withDiagnostics(
        () => suite.pages,
        async () => {
          const host = await suite.join('bcast', 'host');
          const encoder = new AiortcClient('whip', `${suite.server.app.url}/whip/rooms/bcast?name=Encoder`, ['--no-candidates']);
          try {
            assert.equal((await encoder.waitAnswered()).status, 201);
            await waitFor(
              async () => (await tiles(host.page)).some((t) => t.name.includes('Encoder')),
              20_000,
              'the encoder’s tile',
              async () => JSON.stringify(await tiles(host.page)),
            );
            await waitForDecoding(host.page, 1, { growth: 20, timeoutMs: 60_000 });
            assert.equal(await host.page.getByTestId('room-mode').getAttribute('data-mode'), 'sfu');

            const href = await host.page.getByTestId('watch-link').getAttribute('href');
            assert.equal(href, '/watch/room/bcast');
            const context = await mediaContext(suite.browser, suite.server.app.url);
            const page = await context.newPage();
            const watcher = { name: 'watcher', context, page, problems: [] as string[] };
            suite.pages.push(watcher);
            page.on('pageerror', (err) => watcher.problems.push(`pageerror: ${err.message}`));
            await page.goto(`${suite.server.app.url}${href}`);
            await page.getByTestId('watch-room').waitFor();
            await page.getByTestId('watch-play').click();
            const decoded = () =>
              page.evaluate(() => {
                const v = document.querySelector<HTMLVideoElement>('[data-testid="watch-video"]');
                return v?.getVideoPlaybackQuality().totalVideoFrames ?? 0;
              });
            await waitFor(
              async () => (await decoded()) > 30,
              30_000,
              'the Watch page decodes the room',
              async () => JSON.stringify({ frames: await decoded(), status: await page.getByTestId('watch-status').textContent() }),
            );
          } finally {
            await encoder.close();
          }
        },
      );
    },
  );
});
