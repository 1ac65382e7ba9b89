/**
 * Simulcast in an SFU room with the web app in headless Chromium: the camera is published as
 * rid simulcast on its own connection, the SFU receives every layer Chromium encodes, and the
 * resolution a subscriber decodes follows the size of that peer's tile on its screen (the app
 * reports it with `sfu_video_size`). The server uses `sfuMeshMaxPeers: 1`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { browserSuite, waitForDecoding, withDiagnostics } from './harness.ts';
import { waitFor } from '@parley-rtc/test-support/poll';

/** Width of the video `page` decodes from `peerId` right now (largest if several tracks). */
async function widthFrom(page: Page, peerId: string): Promise<{ width: number; frames: number }> {
  return page.evaluate(async (peerId) => {
    const stats = (await window.__parley?.stats()) ?? [];
    const mine = stats.filter((s) => s.peerId === peerId).flatMap((s) => s.inboundVideo);
    return { width: Math.max(0, ...mine.map((v) => v.frameWidth ?? 0)), frames: mine.reduce((n, v) => n + v.framesDecoded, 0) };
  }, peerId);
}

/** Layers the page's camera publication encodes (rid, frame width, frames so far). */
async function cameraLayers(page: Page): Promise<Array<{ rid: string | undefined; width: number; frames: number }>> {
  return page.evaluate(async () => {
    const all = (await window.__parley?.room.publishStats()) ?? [];
    return all
      .filter((p) => p.slot === 'video')
      .flatMap((p) => p.layers.map((l) => ({ rid: l.rid, width: l.width ?? 0, frames: l.framesEncoded ?? 0 })));
  });
}

describe('web app: simulcast through the SFU', { skip: chromiumMissing }, () => {
  const suite = browserSuite({ config: { media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 1 } } });
  const pages = suite.pages;

  it("a subscriber decodes the layer that fits the publisher's tile on its screen", () =>
    withDiagnostics(
      () => pages,
      async () => {
        const kim = await suite.join('layers', 'Kim');
        const lou = await suite.join('layers', 'Lou');
        for (const p of pages) await p.page.locator('[data-testid="room-mode"][data-mode="sfu"]').waitFor({ timeout: 15_000 });
        await waitForDecoding(lou.page, 1, { growth: 15, timeoutMs: 30_000 });
        const kimId = await kim.page.evaluate(() => window.__parley?.room.self?.id ?? '');

        // Chromium encodes at least two layers of the 640x480 fake camera (the top one needs 720p).
        let layers: Awaited<ReturnType<typeof cameraLayers>> = [];
        await waitFor(
          async () => {
            layers = await cameraLayers(kim.page);
            return layers.filter((l) => l.frames > 0 && l.width > 0).length >= 2;
          },
          30_000,
          'two encoded simulcast layers at Kim',
          async () => JSON.stringify(layers),
        );
        const widths = layers
          .filter((l) => l.frames > 0)
          .map((l) => l.width)
          .sort((a, b) => a - b);
        const low = widths[0]!;
        const high = widths[widths.length - 1]!;
        assert.ok(low < high, `layers ${JSON.stringify(layers)}`);

        // Lou's tile of Kim is large: the highest flowing layer.
        let seen = { width: 0, frames: 0 };
        await waitFor(
          async () => (seen = await widthFrom(lou.page, kimId)).width === high,
          20_000,
          `Lou decodes Kim at ${high}px`,
          async () => JSON.stringify(seen),
        );

        // The tile shrinks below the low layer's size: Lou gets the low layer, without a stall.
        const tile = lou.page.locator(`[data-testid="tile"][data-peer-id="${kimId}"]`);
        await tile.evaluate(
          (el, w) => {
            (el as HTMLElement).style.width = `${w}px`;
          },
          Math.floor(low * 0.8),
        );
        await waitFor(
          async () => (seen = await widthFrom(lou.page, kimId)).width === low,
          20_000,
          `Lou decodes Kim at ${low}px`,
          async () => JSON.stringify(seen),
        );
        const framesAtLow = seen.frames;
        await waitFor(
          async () => (await widthFrom(lou.page, kimId)).frames >= framesAtLow + 15,
          20_000,
          'frames keep decoding at the low layer',
        );

        // Large again: back to the high layer.
        await tile.evaluate((el) => {
          (el as HTMLElement).style.width = '';
        });
        await waitFor(
          async () => (seen = await widthFrom(lou.page, kimId)).width === high,
          20_000,
          `Lou decodes Kim at ${high}px again`,
          async () => JSON.stringify(seen),
        );
      },
    ));
});
