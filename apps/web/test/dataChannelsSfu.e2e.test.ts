/**
 * The web app's chat and "send a file to one person" in an SFU room (two Chromium pages,
 * `sfuMeshMaxPeers: 1`): chat goes over the SFU data channel, reaches the other page once and
 * lands in the log; a small file for one participant goes directly (forwarded by the SFU) and
 * arrives whole; a file over 8 MiB goes to the room's upload store, and the panel says so.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { waitFor } from '@parley-rtc/test-support/poll';
import { browserSuite, withDiagnostics } from './harness.ts';

describe('web app: chat and files for one person in an SFU room', { skip: chromiumMissing }, () => {
  const suite = browserSuite({
    config: { media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 1 }, files: { maxBytes: 16 * 1024 * 1024 } },
  });

  it('chat shows once; a large file for one participant is uploaded for the room instead', () =>
    withDiagnostics(
      () => suite.pages,
      async () => {
        const ann = await suite.join('sfu-files', 'Ann');
        const ben = await suite.join('sfu-files', 'Ben');
        for (const p of suite.pages) await p.page.locator('[data-testid="room-mode"][data-mode="sfu"]').waitFor({ timeout: 15_000 });
        // Each page's data channels to the SFU open (the server forwards data between members).
        for (const p of suite.pages) {
          await waitFor(() => p.page.evaluate(() => window.__parley?.room.dataPathOpen() === true), 20_000, `${p.name}'s SFU data path`);
        }

        const text = `through the SFU room ${Date.now()}`;
        await ann.page.getByTestId('chat-input').fill(text);
        await ann.page.getByTestId('chat-send').click();
        await ben.page.locator('[data-testid="chat-message"][data-seq]').filter({ hasText: text }).waitFor({ timeout: 10_000 });
        assert.equal(await ben.page.getByTestId('chat-message').filter({ hasText: text }).count(), 1);
        assert.equal(await ann.page.getByTestId('chat-message').filter({ hasText: text }).count(), 1);
        const stats = await ann.page.evaluate(() => window.__parley!.chat.stats);
        assert.equal(stats.sentOverData, 1, 'sent over the SFU data channel');
        await waitFor(
          () => ben.page.evaluate(() => window.__parley!.chat.stats.receivedOverData + window.__parley!.chat.stats.duplicates === 1),
          10_000,
          'the data copy at Ben (forwarded by the SFU)',
        );

        // A small file for Ben goes directly, through the SFU's data forwarding, and verifies.
        const small = randomBytes(512 * 1024);
        await ann.page.getByTestId('direct-to').selectOption({ label: 'Ben' });
        await ann.page
          .getByTestId('direct-file-input')
          .setInputFiles({ name: 'small.bin', mimeType: 'application/octet-stream', buffer: small });
        await ann.page.getByTestId('direct-route').filter({ hasText: 'Sending directly to Ben' }).waitFor({ timeout: 10_000 });
        const offer = ben.page.locator('[data-testid="direct-transfer"][data-name="small.bin"][data-state="offered"]');
        await offer.waitFor({ timeout: 10_000 });
        await offer.getByTestId('direct-accept').click();
        const received = ben.page.locator('[data-testid="direct-transfer"][data-name="small.bin"][data-state="done"]');
        await received.waitFor({ timeout: 30_000 });
        const href = await received.getByTestId('direct-file-link').getAttribute('href');
        const size = await ben.page.evaluate(async (url) => (await (await fetch(url!)).arrayBuffer()).byteLength, href);
        assert.equal(size, small.length);

        const bytes = randomBytes(9 * 1024 * 1024);
        await ann.page.getByTestId('direct-to').selectOption({ label: 'Ben' });
        await ann.page
          .getByTestId('direct-file-input')
          .setInputFiles({ name: 'large.bin', mimeType: 'application/octet-stream', buffer: bytes });
        await ann.page.getByTestId('direct-route').filter({ hasText: 'Uploading for the room' }).waitFor({ timeout: 10_000 });
        assert.equal(
          await ann.page.locator('[data-testid="direct-transfer"][data-name="large.bin"]').count(),
          0,
          'no direct transfer was started',
        );
        // It is shared in the room log: Ben sees the file entry.
        await ben.page.getByTestId('chat-file').filter({ hasText: 'large.bin' }).waitFor({ timeout: 60_000 });
      },
    ));
});
