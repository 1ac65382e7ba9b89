import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Bot } from '@parley-rtc/bots';
import { createServerClient } from '@parley-rtc/protocol/serverClient';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { browserSuite, inboundVideo, waitForDecoding, withDiagnostics } from './harness.ts';
import { botReceives, joinBot } from './bots.ts';

const API_KEY = 'backend';
const API_SECRET = 'e2e-api-secret-0123456789';
const ROOM = 'listen-free';

/**
 * A member without the subscribe grant in a mesh room: the server refuses its SDPs that would
 * receive, so the SDK makes its links send-only. The page still publishes to the bot and receives
 * nothing; when the server API gives the grant back, the link renegotiates and video arrives.
 */
describe('web app: subscribe: false in a mesh room, in headless Chromium', { skip: chromiumMissing }, () => {
  const suite = browserSuite({
    config: { auth: { apiKeys: { [API_KEY]: API_SECRET } }, media: { bindAddress: '127.0.0.1' } },
  });

  it('publishes without receiving, and receives once the grant comes back', () =>
    withDiagnostics(() => suite.pages, async () => {
      const api = createServerClient({ url: suite.server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
      let bot: Bot | undefined;
      try {
        bot = await joinBot(suite.server.app.url, ROOM, 'Robo', { token: (await api.mintToken({ room: ROOM, identity: 'robo' })).token });
        const { token } = await api.mintToken({ room: ROOM, identity: 'ada', name: 'Ada', grants: { subscribe: false } });
        const ada = await suite.join(ROOM, 'Ada', { token });
        const errors: string[] = [];
        await ada.page.exposeFunction('__reportError', (m: string) => errors.push(m));
        await ada.page.evaluate(() => window.__parley?.room.on('error', (e) => void (window as unknown as { __reportError(m: string): void }).__reportError(e.message)));
        // The bot decodes Ada's camera: the send-only link works.
        await botReceives(bot, ['Ada'], { frames: 20, timeoutMs: 20_000 });
        assert.deepEqual(await inboundVideo(ada.page), [], 'Ada receives no video without the grant');
        assert.deepEqual(errors, []);
        const adaId = await ada.page.evaluate(() => window.__parley?.room.self?.id ?? '');
        await api.updateMember(ROOM, adaId, { grants: { subscribe: true } });
        await waitForDecoding(ada.page, 1, { timeoutMs: 20_000 });
        assert.deepEqual(errors, []);
      } finally {
        await bot?.close();
      }
    }));
});
