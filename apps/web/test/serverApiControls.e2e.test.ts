import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { waitFor } from '@parley-rtc/test-support/poll';
import { data, request } from '@parley-rtc/test-support/server';
import { browserSuite, withDiagnostics, type Participant } from './harness.ts';

const API_KEY = 'backend';
const API_SECRET = 'e2e-api-secret-0123456789';
const ROOM = 'controlled';

/** The page's member id, from the Room behind the app (window.__parley). */
function memberId(page: Page): Promise<string> {
  return page.evaluate(() => {
    const id = window.__parley?.room.self?.id;
    if (!id) throw new Error('the page has not joined');
    return id;
  });
}

/**
 * Mute and kick from outside the page take effect in Chromium: a backend with an API key drives
 * the server API (`createServerClient`), an admin member (a plain Socket.IO client) mutes through
 * the socket, and the page's controls, notices and session follow.
 */
describe('web app: server API mute and kick in headless Chromium', { skip: chromiumMissing }, () => {
  const suite = browserSuite({
    config: { auth: { apiKeys: { [API_KEY]: API_SECRET } }, media: { bindAddress: '127.0.0.1' } },
  });
  let api: ServerClient;
  let ada: Participant;
  let adaId: string;
  const pages = () => suite.pages;

  async function joinPage(): Promise<void> {
    api ??= createServerClient({ url: suite.server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
    if (ada) return;
    const { token } = await api.mintToken({ room: ROOM, identity: 'ada', name: 'Ada' });
    ada = await suite.join(ROOM, 'Ada', { token });
    adaId = await memberId(ada.page);
  }

  const mic = () => ada.page.getByTestId('toggle-mic');
  const notice = (text: string) => ada.page.getByTestId('notice').filter({ hasText: text });

  it('muteMember mutes the microphone, says "by the server", and the server sees the new flags', () =>
    withDiagnostics(pages, async () => {
      await joinPage();
      assert.equal(await mic().getAttribute('aria-pressed'), 'false');
      await api.muteMember(ROOM, adaId, 'audio');
      await notice('Microphone muted by the server').waitFor({ timeout: 10_000 });
      assert.equal(await mic().getAttribute('aria-pressed'), 'true');
      assert.equal(await ada.page.evaluate(() => window.__parley?.media.state.audio.enabled), false);
      // The notice is in the polite live region, so screen readers announce it.
      assert.equal(await ada.page.getByRole('status').filter({ hasText: 'Microphone muted by the server' }).count(), 1);
      // The SDK sent its media flags as usual: the server API shows the microphone off.
      const adaMedia = async () => (await api.listMembers(ROOM)).find((m) => m.id === adaId)?.media;
      await waitFor(
        async () => (await adaMedia())?.audio === false,
        10_000,
        'media flags with audio off',
        async () => JSON.stringify(await adaMedia()),
      );
    }));

  it('an admin member mutes the camera: the notice names the admin', () =>
    withDiagnostics(pages, async () => {
      await joinPage();
      const { token } = await api.mintToken({ room: ROOM, identity: 'host', name: 'Grace', grants: { admin: true } });
      const admin = await suite.server.connect();
      try {
        data(await request(admin, 'join', { room: ROOM, name: 'Grace', token }));
        await waitFor(() => ada.page.evaluate(() => (window.__parley?.room.peers.length ?? 0) > 0), 10_000, 'Grace in the roster');
        data(await request(admin, 'mute', { peer: adaId, kind: 'video' }));
        await notice('Camera turned off by Grace').waitFor({ timeout: 10_000 });
        assert.equal(await ada.page.getByTestId('toggle-camera').getAttribute('aria-pressed'), 'true');
      } finally {
        admin.close();
      }
    }));

  it('removeMember ends the session on the page, which says so', () =>
    withDiagnostics(pages, async () => {
      await joinPage();
      await api.removeMember(ROOM, adaId, 'removed by the host');
      await notice('The server ended the call: removed by the host').waitFor({ timeout: 10_000 });
      await ada.page.getByTestId('connection-banner').filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
      // The room ends with its last member (then there is no room to list).
      await waitFor(
        async () => (await api.listMembers(ROOM).catch(() => [])).every((m) => m.id !== adaId),
        10_000,
        'Ada gone from the room',
      );
    }));
});
