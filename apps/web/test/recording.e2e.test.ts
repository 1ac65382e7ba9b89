import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Bot } from '@parley-rtc/bots';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import type { RoomRecording } from '@parley-rtc/protocol/serverApi';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { waitFor } from '@parley-rtc/test-support/poll';
import { browserSuite, withDiagnostics } from './harness.ts';
import { joinBot } from './bots.ts';

const run = promisify(execFile);
const API_KEY = 'backend';
const API_SECRET = 'e2e-api-secret-0123456789';
const ROOM = 'recorded-call';

/**
 * Recording from the web app in headless Chromium: a member with the `record` grant presses
 * Record, the REC indicator appears (for everyone: a bot shares the room), the page's own camera
 * and microphone are recorded from the SFU (Chromium's sender reports place them), Stop ends it,
 * and the composed file comes out. A member without the grant is told it may not record.
 */
describe('web app: room recording in headless Chromium', { skip: chromiumMissing }, () => {
  const bots: Bot[] = [];
  // The bots' native peers close before the suite's nodeDataChannel.cleanup() (closing them after it crashed the process).
  const suite = browserSuite({
    config: {
      auth: { apiKeys: { [API_KEY]: API_SECRET } },
      media: { bindAddress: '127.0.0.1', roomRecording: { width: 320, height: 180 } },
    },
    cleanup: () => bots.splice(0).forEach((b) => b.close('suite over')),
  });
  let api: ServerClient;

  it('Record shows the indicator, records the page through the SFU, Stop composes the room', () =>
    withDiagnostics(
      () => suite.pages,
      async () => {
        api = createServerClient({ url: suite.server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
        const { token } = await api.mintToken({ room: ROOM, identity: 'ada', name: 'Ada', grants: { record: true } });
        const ada = await suite.join(ROOM, 'Ada', { token });
        const botToken = (await api.mintToken({ room: ROOM, identity: 'bot', name: 'Bot' })).token;
        bots.push(await joinBot(suite.server.app.url, ROOM, 'Bot', { token: botToken }));
        await ada.page.getByTestId('toggle-recording').click();
        await ada.page.getByTestId('recording-indicator').waitFor({ timeout: 10_000 });
        const [running] = await api.listRecordings(ROOM);
        assert.ok(running, 'a recording runs');
        assert.equal(running.startedBy, 'member');
        const adaId = await ada.page.evaluate(() => window.__parley?.room.self?.id);
        let r: RoomRecording = running;
        const recorded = (kind: 'audio' | 'video') => {
          const t = r.tracks.find((x) => x.member.id === adaId && x.kind === kind);
          return t?.startMs != null && t.endMs != null ? t.endMs - t.startMs : 0;
        };
        await waitFor(
          async () => ((r = await api.getRecording(ROOM, running.id)), recorded('video') >= 2000 && recorded('audio') >= 2000),
          30_000,
          "2 s of the page's camera and microphone recorded",
          () => JSON.stringify(r.tracks),
        );
        assert.ok(
          r.tracks.filter((t) => t.member.id === adaId).every((t) => t.sync === 'sr'),
          `Chromium's tracks are placed by its sender reports: ${JSON.stringify(r.tracks)}`,
        );
        await ada.page.getByTestId('toggle-recording').click();
        await ada.page.getByTestId('recording-indicator').waitFor({ state: 'detached', timeout: 10_000 });
        await waitFor(
          async () => ((r = await api.getRecording(ROOM, running.id)), r.state !== 'composing' && r.state !== 'recording'),
          120_000,
          'composed',
        );
        assert.equal(r.state, 'done', r.error);
        const dir = join(suite.server.dataDir, 'recordings', running.id);
        for (const t of r.tracks.filter((x) => x.member.id === adaId)) {
          const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', join(dir, t.file!), '-f', 'null', '-']);
          assert.equal(stderr.trim(), '', `${t.file} decodes cleanly`);
        }
      },
    ));

  it('only members with the record grant see the Record button, which follows a grant change', () =>
    withDiagnostics(
      () => suite.pages,
      async () => {
        const { token } = await api.mintToken({ room: ROOM, identity: 'cy', name: 'Cy', grants: { record: false } });
        const cy = await suite.join(ROOM, 'Cy', { token });
        await cy.page.getByTestId('toggle-chat').waitFor({ timeout: 10_000 });
        assert.equal(await cy.page.getByTestId('toggle-recording').count(), 0, 'no Record button without the grant');
        const cyId = await cy.page.evaluate(() => window.__parley?.room.self?.id);
        assert.ok(cyId);
        await api.updateMember(ROOM, cyId, { grants: { record: true } });
        await cy.page.getByTestId('toggle-recording').waitFor({ timeout: 10_000 });
        await api.updateMember(ROOM, cyId, { grants: { record: false } });
        await cy.page.getByTestId('toggle-recording').waitFor({ state: 'detached', timeout: 10_000 });
        assert.equal(await cy.page.getByTestId('recording-indicator').count(), 0);
      },
    ));
});
