/**
 * The web app's chat and "send a file to one person" in an SFU room (two Chromium pages,
 * `sfuMeshMaxPeers: 1`): chat reaches the other page once and lands in the log whichever path
 * it took (the SFU data channel, or signaling when that path is not open); a file over 8 MiB for
 * one participant goes to the room's upload store, and the panel says so.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
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

        const text = `through the SFU room ${Date.now()}`;
        await ann.page.getByTestId('chat-input').fill(text);
        await ann.page.getByTestId('chat-send').click();
        await ben.page.locator('[data-testid="chat-message"][data-seq]').filter({ hasText: text }).waitFor({ timeout: 10_000 });
        assert.equal(await ben.page.getByTestId('chat-message').filter({ hasText: text }).count(), 1);
        assert.equal(await ann.page.getByTestId('chat-message').filter({ hasText: text }).count(), 1);
        const stats = await ann.page.evaluate(() => window.__parley!.chat.stats);
        assert.equal(stats.sentOverData + stats.sentOverSignaling, 1);

        const bytes = randomBytes(9 * 1024 * 1024);
        await ann.page.getByTestId('direct-to').selectOption({ label: 'Ben' });
        await ann.page
          .getByTestId('direct-file-input')
          .setInputFiles({ name: 'large.bin', mimeType: 'application/octet-stream', buffer: bytes });
        await ann.page.getByTestId('direct-route').filter({ hasText: 'Uploading for the room' }).waitFor({ timeout: 10_000 });
        assert.equal(await ann.page.getByTestId('direct-transfer').count(), 0, 'no direct transfer was started');
        // It is shared in the room log: Ben sees the file entry.
        await ben.page.getByTestId('chat-file').filter({ hasText: 'large.bin' }).waitFor({ timeout: 60_000 });
      },
    ));
});
