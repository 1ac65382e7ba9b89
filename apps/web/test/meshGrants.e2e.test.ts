import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Bot } from '@parley-rtc/bots';
import type { Page } from 'playwright-core';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { waitFor } from '@parley-rtc/test-support/poll';
import { browserSuite, inboundVideo, waitForDecoding, withDiagnostics, type Participant } from './harness.ts';
import { botReceives, framesFrom, joinBot } from './bots.ts';

const API_KEY = 'backend';
const API_SECRET = 'e2e-api-secret-0123456789';

/** Collects the Room's `error` events of a page (the SDK reports refused offers there). */
async function roomErrors(page: Page): Promise<string[]> {
  const errors: string[] = [];
  await page.exposeFunction('__reportRoomError', (m: string) => errors.push(m));
  await page.evaluate(() =>
    window.__parley?.room.on(
      'error',
      (e) => void (window as unknown as { __reportRoomError(m: string): void }).__reportRoomError(e.message),
    ),
  );
  return errors;
}

/**
 * Grants in a mesh room with the SDK: the server refuses SDPs beyond a member's grants, so the
 * SDK keeps its links within them (only granted slots sent, send-only without subscribe) and
 * follows `grants_changed`. Each test is one Chromium page and a bot.
 */
describe('web app: publish and subscribe grants in a mesh room, in headless Chromium', { skip: chromiumMissing }, () => {
  let bot: Bot | undefined;
  // The bot's native peers close before the suite's nodeDataChannel.cleanup().
  const suite = browserSuite({
    config: { auth: { apiKeys: { [API_KEY]: API_SECRET } }, media: { bindAddress: '127.0.0.1' } },
    cleanup: () => bot?.close(),
  });
  let api: ServerClient;

  async function joinWithBot(
    room: string,
    grants: Record<string, unknown>,
  ): Promise<{ ada: Participant; adaId: string; errors: string[]; bot: Bot }> {
    api ??= createServerClient({ url: suite.server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
    bot?.close();
    bot = await joinBot(suite.server.app.url, room, 'Robo', { token: (await api.mintToken({ room, identity: 'robo' })).token });
    const { token } = await api.mintToken({ room, identity: 'ada', name: 'Ada', grants });
    const ada = await suite.join(room, 'Ada', { token });
    const errors = await roomErrors(ada.page);
    const adaId = await ada.page.evaluate(() => window.__parley?.room.self?.id ?? '');
    return { ada, adaId, errors, bot };
  }

  it('subscribe: false publishes without receiving, and receives once the grant comes back', () =>
    withDiagnostics(
      () => suite.pages,
      async () => {
        const { ada, adaId, errors, bot } = await joinWithBot('listen-free', { subscribe: false });
        try {
          // The bot decodes Ada's camera: the send-only link works.
          await botReceives(bot, ['Ada'], { frames: 20, timeoutMs: 20_000 });
          assert.deepEqual(await inboundVideo(ada.page), [], 'Ada receives no video without the grant');
          await api.updateMember('listen-free', adaId, { grants: { subscribe: true } });
          await waitForDecoding(ada.page, 1, { timeoutMs: 20_000 });
          assert.deepEqual(errors, []);
        } finally {
          await ada.page.close();
        }
      },
    ));

  it("publish: ['audio'] sends the microphone only, and the camera once video is granted", () =>
    withDiagnostics(
      () => suite.pages,
      async () => {
        const { adaId, errors, bot } = await joinWithBot('voice-only', { publish: ['audio'] });
        const audioFrom = () => bot.stats().received.find((r) => r.name === 'Ada')?.audio.packets ?? 0;
        await waitFor(
          () => audioFrom() >= 50,
          20_000,
          'the bot receiving Ada’s audio',
          () => JSON.stringify(bot.stats()),
        );
        assert.equal(framesFrom(bot, 'Ada'), 0, 'no video from Ada without the grant');
        await api.updateMember('voice-only', adaId, { grants: { publish: ['audio', 'video'] } });
        await botReceives(bot, ['Ada'], { frames: 20, timeoutMs: 20_000 });
        assert.deepEqual(errors, []);
        bot.close();
      },
    ));
});
